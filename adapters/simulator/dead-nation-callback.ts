// Dead Nation confirms a booking by posting its tickets to the app's POST /api/tickets-status,
// retrying 5xx/408/429 and connection errors after each configured delay, then giving up.
import { randomUUID } from "node:crypto";
import { setImmediate, setTimeout } from "node:timers/promises";
import type { z } from "zod";
import type { TicketsStatusRequest } from "../../contracts/http.ts";
import { errorMessage } from "../../lib/errors.ts";
import { partnerSignatureHeaders } from "../../lib/http/auth/partner-signature.ts";
import type { ConfirmBooking } from "./dead-nation.ts";
import type { CallbackAttempt, GatewaySimulatorState, StoredBooking } from "./state.ts";

export interface SimulatorLogger {
  info(obj: object, msg?: string): void;
}

export interface CallbackOptions {
  state: GatewaySimulatorState;
  /** The app's base URL, without a trailing slash. */
  callbackBaseUrl: string;
  ticketPrice: { amount: string; currency: string };
  /** Waits between attempts; one attempt more than there are delays. */
  retryDelaysMs: readonly number[];
  log: SimulatorLogger;
  /** PARTNER_SIGNING_SECRET: each callback carries its Tickets-Signature. */
  signingSecret?: string;
  /** Aborted when the simulator closes: no further attempt starts. */
  signal: AbortSignal;
}

interface Callback {
  url: string;
  booking_id: string;
  init: RequestInit;
}

export interface Callbacks {
  confirmLater: ConfirmBooking;
  /** Resolves when every callback started so far has finished (delivered or given up). */
  settled(): Promise<void>;
}

export function createCallbacks(opts: CallbackOptions): Callbacks {
  const pending = new Set<Promise<void>>();
  return {
    confirmLater(booking, correlationId) {
      // The booking's answer goes out first; the callback starts on the next turn of the loop.
      const delivery = setImmediate().then(() => deliver(opts, callbackFor(opts, booking, correlationId)));
      pending.add(delivery);
      void delivery.finally(() => pending.delete(delivery));
    },
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/** One payload for every attempt of one reservation: the same ticket ids each time, and its own key. */
function callbackFor(opts: CallbackOptions, booking: StoredBooking, correlationId: string | undefined): Callback {
  const payload: z.input<typeof TicketsStatusRequest> = {
    tickets: Array.from({ length: booking.number_of_tickets }, () => ({
      ticket_id: randomUUID(),
      booking_id: booking.booking_id,
      status: "confirmed",
      price: { amount: opts.ticketPrice.amount, currency: opts.ticketPrice.currency },
      customer_email: booking.customer_address,
    })),
  };
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Idempotency-Key": `dead-nation-${booking.booking_id}-${booking.call_number}`,
    ...partnerSignatureHeaders(opts.signingSecret, body),
  };
  if (correlationId) headers["Correlation-ID"] = correlationId;
  const url = `${opts.callbackBaseUrl}/api/tickets-status`;
  return { url, booking_id: booking.booking_id, init: { method: "POST", headers, body } };
}

async function deliver(opts: CallbackOptions, callback: Callback): Promise<void> {
  const { booking_id, url } = callback;
  for (let attempt = 1; !opts.signal.aborted; attempt++) {
    const record = await attemptOnce(opts, callback, attempt);
    if (record.ok) {
      opts.log.info({ booking_id, attempt, status: record.status }, "dead nation callback delivered");
      return;
    }
    const delay = opts.retryDelaysMs[attempt - 1];
    if (!retryable(record) || delay === undefined || opts.signal.aborted) {
      const { status, error } = record;
      opts.log.info({ booking_id, url, attempts: attempt, status, error }, "dead nation callback failed, giving up");
      return;
    }
    try {
      await setTimeout(delay, undefined, { signal: opts.signal });
    } catch {
      return;
    }
  }
}

async function attemptOnce(opts: CallbackOptions, callback: Callback, attempt: number): Promise<CallbackAttempt> {
  const record: CallbackAttempt = { booking_id: callback.booking_id, url: callback.url, attempt, ok: false };
  opts.state.callbacks.push(record);
  try {
    const res = await fetch(callback.url, { ...callback.init, signal: AbortSignal.any([opts.signal, AbortSignal.timeout(5000)]) });
    await res.arrayBuffer();
    record.status = res.status;
    record.ok = res.ok;
  } catch (err) {
    record.error = describeError(err);
  }
  return record;
}

/** A connection error or a 5xx/408/429 may pass on a later attempt; another 4xx will not. */
function retryable(record: CallbackAttempt): boolean {
  return record.status === undefined || record.status >= 500 || record.status === 408 || record.status === 429;
}

function describeError(err: unknown): string {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code ?? errorMessage(err);
}
