/**
 * The booking decision of a group commit (docs/bookings.md): every booking request that reached
 * this node while the previous batch was committing is decided in one transaction: keys claimed,
 * the shows locked, seats allocated in arrival order, then one statement each for seats, bookings,
 * events and stored answers.
 */
import { randomUUID } from "node:crypto";
import { BookingMade_v1 } from "../contracts/index.ts";
import type { BookTicketsRequest } from "../contracts/http.ts";
import type { Outcome } from "../lib/batcher.ts";
import type { Transaction } from "../lib/database/db.ts";
import { HttpError } from "../lib/http/http-errors.ts";
import { claimKeys, releaseKeys, storeAnswers, type Claim } from "../lib/http/idempotency-batch.ts";
import { idempotencyRecordOf, type IdempotencyRecord, type StoredResponse } from "../lib/http/idempotency.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import type { MessageOrigin, OutboxEntry } from "../lib/messaging/outbox.ts";
import { traceCarrierOf, type TraceCarrier } from "../lib/observability/tracing.ts";
import { addSeats, insertBookings, lockShows, type FreeSeats, type NewBooking } from "./bookings.repository.ts";

/** Requests per transaction: big enough to absorb an on-sale's arrivals, small enough to keep each commit short. */
export const BOOKING_BATCH_MAX = 200;

/** One validated booking request, with what its answer and event need from its HTTP request. */
export interface BookingRequest {
  request: BookTicketsRequest;
  record: IdempotencyRecord | undefined;
  idempotencyKey: string | undefined;
  origin: MessageOrigin;
  /** Captured in the request's own span: the batch runs inside one request's span only. */
  trace: TraceCarrier;
}

export type BookingAnswer = StoredResponse<{ booking_id: string }>;

type PublishAll = (trx: Transaction, entries: OutboxEntry<typeof BookingMade_v1>[]) => Promise<unknown>;

/** Call inside the action, where the request's span is active. */
export function bookingRequestOf(request: BookTicketsRequest, meta: RequestMeta): BookingRequest {
  return {
    request,
    record: idempotencyRecordOf("book-tickets", meta, request),
    idempotencyKey: meta.idempotencyKey,
    origin: { correlationId: meta.correlationId, traceparent: meta.traceparent, tracestate: meta.tracestate },
    trace: traceCarrierOf(),
  };
}

/** Decides a batch in `trx`: one outcome per request, in order. */
export async function decideBookings(trx: Transaction, items: BookingRequest[], publishAll: PublishAll): Promise<Outcome<BookingAnswer>[]> {
  const claims = await claimKeys<BookingAnswer["body"]>(
    trx,
    items.map((item) => item.record),
  );
  const fresh = items.flatMap((_, i) => ("fresh" in claims[i]! ? [i] : []));
  const free = await lockShows(trx, [...new Set(fresh.map((i) => items[i]!.request.show_id))]);
  const decided = allocate(items, fresh, free);
  const accepted = fresh.filter((i) => "value" in decided[i]!);
  const booked = accepted.map((i): NewBooking => ({ ...items[i]!.request, booking_id: bookingIdOf(decided[i]!) }));

  await addSeats(trx, seatsPerShow(booked));
  await insertBookings(trx, booked);
  await publishAll(
    trx,
    accepted.map((i, n) => bookingMade(items[i]!, booked[n]!)),
  );
  await storeAnswers(
    trx,
    accepted.flatMap((i) => recordedAnswer(items[i]!, decided[i]!)),
  );
  await releaseKeys(
    trx,
    fresh.filter((i) => "error" in decided[i]!).flatMap((i) => items[i]!.record ?? []),
  );
  // in order: a `sameAs` member's first holder comes before it
  const outcomes: Outcome<BookingAnswer>[] = [];
  for (const [i, claim] of claims.entries()) outcomes.push(decided[i] ?? answerOf(claim, outcomes));
  return outcomes;
}

/**
 * Seats in arrival order: each request gets its seats if they are still free after the ones
 * before it, or a 400 of its own; a show that does not exist is 404.
 */
function allocate(items: BookingRequest[], fresh: number[], free: FreeSeats): Outcome<BookingAnswer>[] {
  const decided: Outcome<BookingAnswer>[] = [];
  for (const i of fresh) {
    const { show_id, number_of_tickets } = items[i]!.request;
    const left = free.get(show_id);
    if (left === undefined) decided[i] = { error: new HttpError(404, "show not found") };
    else if (left < number_of_tickets) decided[i] = { error: new HttpError(400, "not enough seats available") };
    else {
      free.set(show_id, left - number_of_tickets);
      decided[i] = { value: { status: 201, body: { booking_id: randomUUID() }, replayed: false } };
    }
  }
  return decided;
}

/** The answer of a request whose key was not fresh, given the answers of the members before it. */
function answerOf(claim: Claim<BookingAnswer["body"]>, earlier: Outcome<BookingAnswer>[]): Outcome<BookingAnswer> {
  if ("stored" in claim) return { value: claim.stored };
  if ("refused" in claim) return { error: claim.refused };
  if (!("sameAs" in claim)) throw new Error("a fresh request left undecided");
  const first = earlier[claim.sameAs]!;
  return "value" in first ? { value: { ...first.value, replayed: true } } : first;
}

const bookingIdOf = (outcome: Outcome<BookingAnswer>) => (outcome as { value: BookingAnswer }).value.body.booking_id;

function seatsPerShow(booked: NewBooking[]): Map<string, number> {
  const taken = new Map<string, number>();
  for (const booking of booked) taken.set(booking.show_id, (taken.get(booking.show_id) ?? 0) + booking.number_of_tickets);
  return taken;
}

function bookingMade(item: BookingRequest, booking: NewBooking): OutboxEntry<typeof BookingMade_v1> {
  return {
    message: {
      contract: BookingMade_v1,
      body: {
        number_of_tickets: booking.number_of_tickets,
        booking_id: booking.booking_id,
        customer_email: booking.customer_email,
        show_id: booking.show_id,
      },
      idempotencyKey: item.idempotencyKey,
    },
    origin: item.origin,
    trace: item.trace,
  };
}

function recordedAnswer(item: BookingRequest, outcome: Outcome<BookingAnswer>) {
  if (!item.record || !("value" in outcome)) return [];
  return [{ record: item.record, status: outcome.value.status, body: outcome.value.body }];
}
