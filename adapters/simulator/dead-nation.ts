// Dead Nation: every booking is kept (it takes no idempotency key) and, when auto-confirming, each
// is confirmed by calling the app back (dead-nation-callback.ts) after the answer went out. Like the
// real partner, a second call for the same booking_id is a second reservation with tickets of its own.
import { DeadNationBookingBody, type DeadNationBookingAnswer } from "../../contracts/partners.ts";
import { headerValue, parseBody, type Incoming, type Reply, type Route } from "./http.ts";
import type { GatewaySimulatorState, StoredBooking } from "./state.ts";

export type ConfirmBooking = (booking: StoredBooking, correlationId: string | undefined) => void;

export function deadNationRoutes(state: GatewaySimulatorState, confirm: ConfirmBooking | undefined): Route[] {
  return [{ method: "POST", pattern: /^\/dead-nation-api\/ticket\/booking$/, handle: (incoming) => book(state, confirm, incoming) }];
}

function book(state: GatewaySimulatorState, confirm: ConfirmBooking | undefined, { raw, headers }: Incoming): Reply {
  const body = parseBody(DeadNationBookingBody, raw);
  const call_number = (state.deadNationCallsByBooking.get(body.booking_id) ?? 0) + 1;
  state.deadNationCallsByBooking.set(body.booking_id, call_number);
  const booking: StoredBooking = { ...body, received_at: new Date().toISOString(), call_number };
  state.deadNationBookings.push(booking);
  confirm?.(booking, headerValue(headers["correlation-id"]));
  return { status: 200, body: { booking_id: booking.booking_id } satisfies DeadNationBookingAnswer };
}
