// Typed HTTP clients of the external gateway's partners: receipts, payments, Dead Nation, files,
// spreadsheets. The wire shapes are the partners' contracts (contracts/partners.ts); every
// non-success answer becomes a GatewayError (errors.ts) that says whether a retry can help.
import type { Money } from "../../contracts/index.ts";
import {
  type AppendRowBody,
  type DeadNationBookingBody,
  type IssueReceiptBody,
  IssuedReceipt,
  type RefundBody,
  SheetRowsAnswer,
  type VoidReceiptBody,
} from "../../contracts/partners.ts";
import { type CallContext, createTransport, type TransportOptions } from "./transport.ts";

export { ENDPOINT_POLICIES, type Endpoint, isPermanentStatus } from "./classification.ts";
export { GatewayError, type GatewayErrorKind } from "./errors.ts";
export type { CallContext } from "./transport.ts";

/** A receipt as the services ask for it: the ticket's price in the app's own Money. */
export type IssueReceiptRequest = Omit<IssueReceiptBody, "price"> & { price: Money };
export type { IssuedReceipt } from "../../contracts/partners.ts";
export type VoidReceiptRequest = VoidReceiptBody;
export type RefundRequest = RefundBody;
export type DeadNationBookingRequest = DeadNationBookingBody;

export interface GatewayClient {
  receipts: {
    issue(req: IssueReceiptRequest, cc?: CallContext): Promise<IssuedReceipt>;
    void(req: VoidReceiptRequest, cc?: CallContext): Promise<void>;
  };
  payments: {
    refund(req: RefundRequest, cc?: CallContext): Promise<void>;
  };
  deadNation: {
    book(req: DeadNationBookingRequest, cc?: CallContext): Promise<void>;
  };
  files: {
    /** 200/201 → "created"; 409 → "already_exists" (a success: the file id is deterministic). */
    put(fileId: string, content: string, cc?: CallContext): Promise<"created" | "already_exists">;
  };
  spreadsheets: {
    appendRow(sheet: string, columns: string[], cc?: CallContext): Promise<void>;
    rows(sheet: string, cc?: CallContext): Promise<string[][]>;
  };
}

const OK = [200] as const;
const OK_OR_CREATED = [200, 201] as const;

export function createGatewayClient(opts: TransportOptions): GatewayClient {
  const { send, read } = createTransport(opts);
  const sheetRows = (sheet: string) => `/spreadsheets-api/sheets/${encodeURIComponent(sheet)}/rows`;
  return {
    receipts: {
      issue: (req, cc) =>
        read(
          { endpoint: "receipts.issue", method: "PUT", path: "/receipts-api/receipts", ok: OK_OR_CREATED, json: issueBody(req) },
          IssuedReceipt,
          cc,
        ),
      async void(req, cc) {
        await send({ endpoint: "receipts.void", method: "PUT", path: "/receipts-api/void-receipt", ok: OK, json: req }, cc);
      },
    },
    payments: {
      async refund(req, cc) {
        await send({ endpoint: "payments.refund", method: "PUT", path: "/payments-api/refunds", ok: OK_OR_CREATED, json: req }, cc);
      },
    },
    deadNation: {
      async book(req, cc) {
        await send({ endpoint: "deadNation.book", method: "POST", path: "/dead-nation-api/ticket/booking", ok: OK, json: req }, cc);
      },
    },
    files: {
      async put(fileId, content, cc) {
        const path = `/files-api/files/${encodeURIComponent(fileId)}/content`;
        const status = await send({ endpoint: "files.put", method: "PUT", path, ok: [200, 201, 409], text: content }, cc);
        return status === 409 ? "already_exists" : "created";
      },
    },
    spreadsheets: {
      async appendRow(sheet, columns, cc) {
        await send(
          { endpoint: "spreadsheets.appendRow", method: "POST", path: sheetRows(sheet), ok: OK, json: { columns } satisfies AppendRowBody },
          cc,
        );
      },
      async rows(sheet, cc) {
        return (await read({ endpoint: "spreadsheets.rows", method: "GET", path: sheetRows(sheet), ok: OK }, SheetRowsAnswer, cc)).rows;
      },
    },
  };
}

function issueBody(req: IssueReceiptRequest): IssueReceiptBody {
  const price = { money_amount: req.price.amount, money_currency: req.price.currency };
  return { ticket_id: req.ticket_id, price, idempotency_key: req.idempotency_key };
}

declare module "../../lib/runtime.ts" {
  interface RuntimeExtensions {
    /** The partners, as every handler of the node calls them. */
    readonly gateway: GatewayClient;
  }
}
