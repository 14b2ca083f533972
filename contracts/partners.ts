import { z } from "zod";

/**
 * The wire shapes of the five partner APIs behind the gateway. The gateway client types what it
 * sends from them and parses the answers it reads; the simulator validates what it receives and
 * types what it answers. Idempotency keys travel in body fields, under each partner's own name.
 */

const Text = z.string().min(1, "must be a non-empty string");

/** The receipts partner's money: prefixed field names, amount and currency as it received them. */
export const PartnerMoney = z.object({ money_amount: Text, money_currency: Text });

// receipts: PUT /receipts-api/receipts, PUT /receipts-api/void-receipt

export const IssueReceiptBody = z.object({ ticket_id: Text, price: PartnerMoney, idempotency_key: Text });
export type IssueReceiptBody = z.infer<typeof IssueReceiptBody>;

/** 201 for a new key, 200 with the same receipt for a known one; the client reads number and time. */
export const IssuedReceipt = z.object({
  number: Text,
  issued_at: z.iso.datetime({ offset: true, message: "must be an RFC 3339 time" }),
});
export type IssuedReceipt = z.infer<typeof IssuedReceipt>;

export const ReceiptAnswer = IssueReceiptBody.extend(IssuedReceipt.shape).extend({
  voided: z.boolean().optional(),
  void_reason: z.string().optional(),
});
export type ReceiptAnswer = z.infer<typeof ReceiptAnswer>;

export const VoidReceiptBody = z.object({ ticket_id: Text, reason: Text, idempotent_id: Text });
export type VoidReceiptBody = z.infer<typeof VoidReceiptBody>;

// payments: PUT /payments-api/refunds

export const RefundBody = z.object({ payment_reference: Text, reason: Text, deduplication_id: Text });
export type RefundBody = z.infer<typeof RefundBody>;

/** 201 for a new deduplication_id, 200 with the first refund for a known one. */
export const RefundAnswer = RefundBody.extend({ refunded_at: z.string() });
export type RefundAnswer = z.infer<typeof RefundAnswer>;

// Dead Nation: POST /dead-nation-api/ticket/booking (no idempotency key; confirmed by a callback)

export const DeadNationBookingBody = z.object({
  booking_id: Text,
  event_id: Text,
  number_of_tickets: z.number().int("must be an integer").positive("must be a positive integer"),
  customer_address: Text,
});
export type DeadNationBookingBody = z.infer<typeof DeadNationBookingBody>;

export const DeadNationBookingAnswer = z.object({ booking_id: z.string() });
export type DeadNationBookingAnswer = z.infer<typeof DeadNationBookingAnswer>;

// files: PUT /files-api/files/{id}/content with a text/plain body; 409 when the id exists

export const FileCreatedAnswer = z.object({ id: z.string() });
export type FileCreatedAnswer = z.infer<typeof FileCreatedAnswer>;

// spreadsheets: POST and GET /spreadsheets-api/sheets/{sheet}/rows (no dedupe of rows)

export const AppendRowBody = z.object({ columns: z.array(z.string()) });
export type AppendRowBody = z.infer<typeof AppendRowBody>;

export const SheetRowsAnswer = z.object({ rows: z.array(z.array(z.string())) });
export type SheetRowsAnswer = z.infer<typeof SheetRowsAnswer>;

/** Every partner's answer to a refused call. */
export const PartnerErrorAnswer = z.object({
  error: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export type PartnerErrorAnswer = z.infer<typeof PartnerErrorAnswer>;
