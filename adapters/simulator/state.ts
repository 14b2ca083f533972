import type { IncomingHttpHeaders } from "node:http";
import type { DeadNationBookingBody, ReceiptAnswer, RefundAnswer, VoidReceiptBody } from "../../contracts/partners.ts";

export type StoredReceipt = ReceiptAnswer;
export interface StoredVoid extends VoidReceiptBody {
  voided_at: string;
}
export type StoredRefund = RefundAnswer;
export interface StoredBooking extends DeadNationBookingBody {
  received_at: string;
  /** 1 for the first call naming this booking_id, 2 for a duplicate, …: each call is a reservation of its own. */
  call_number: number;
}
export interface RecordedCall {
  method: string;
  path: string;
  body: unknown; // parsed JSON, raw text, or undefined when empty
  headers: IncomingHttpHeaders;
  status: number;
  at: string;
}
export interface CallbackAttempt {
  booking_id: string;
  url: string;
  attempt: number;
  status?: number; // undefined on connection errors
  error?: string;
  ok: boolean;
}

/** Everything the partners received, for tests and the /_simulator read-back endpoints. */
export interface GatewaySimulatorState {
  receipts: Map<string, StoredReceipt>; // by idempotency_key
  voids: Map<string, StoredVoid>; // by idempotent_id
  refunds: Map<string, StoredRefund>; // by deduplication_id
  files: Map<string, string>; // file id -> content
  sheets: Map<string, string[][]>; // sheet -> rows
  deadNationBookings: StoredBooking[]; // every call, duplicates included
  deadNationCallsByBooking: Map<string, number>; // booking_id -> calls so far (a scan of the list grows with every booking)
  callbacks: CallbackAttempt[]; // every Dead Nation callback attempt
  calls: RecordedCall[]; // every gateway API request (not /_simulator)
}

export function createState(): GatewaySimulatorState {
  return {
    receipts: new Map(),
    voids: new Map(),
    refunds: new Map(),
    files: new Map(),
    sheets: new Map(),
    deadNationBookings: [],
    deadNationCallsByBooking: new Map(),
    callbacks: [],
    calls: [],
  };
}

export function clearState(state: GatewaySimulatorState): void {
  state.receipts.clear();
  state.voids.clear();
  state.refunds.clear();
  state.files.clear();
  state.sheets.clear();
  state.deadNationBookings.length = 0;
  state.deadNationCallsByBooking.clear();
  state.callbacks.length = 0;
  state.calls.length = 0;
}
