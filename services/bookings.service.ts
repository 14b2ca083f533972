import type { Context } from "moleculer";
import { BookingMade_v1 } from "../contracts/index.ts";
import { BookTicketsRequest } from "../contracts/http.ts";
import { PermanentError } from "../lib/errors.ts";
import { createBatcher } from "../lib/batcher.ts";
import { validate } from "../lib/http/http-errors.ts";
import { reply } from "../lib/http/idempotency.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import { ConsumerMixin, on, type HandlerThis } from "../mixins/consumer.mixin.ts";
import { OutboxMixin } from "../mixins/outbox.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";
import { BOOKING_BATCH_MAX, bookingRequestOf, decideBookings, type BookingRequest } from "./bookings.group-commit.ts";
import * as bookings from "./bookings.repository.ts";

/** Bookings: seats of a show, never more than it has, and the matching booking at Dead Nation. */
const BookingsService: TicketsServiceSchema = {
  name: "bookings",
  mixins: [OutboxMixin(), ConsumerMixin()],

  /** Concurrent bookings on this node share one transaction: group commit (docs/bookings.md). */
  created() {
    this.bookingBatches = createBatcher(
      (batch: BookingRequest[]) => this.transaction((trx) => decideBookings(trx, batch, (t, entries) => this.publishAll(t, entries))),
      BOOKING_BATCH_MAX,
    );
    this.deadNationEvents = new bookings.DeadNationEvents();
  },

  actions: {
    /**
     * POST /api/book-tickets → 201 {booking_id} + Location: seats, booking row and BookingMade_v1 commit
     * together. Sold out is 400, an unknown show 404. Once per Idempotency-Key (or per HTTP request).
     * Validated here, so bad input never joins a batch.
     */
    book: {
      async handler(ctx: Context<unknown, RequestMeta>) {
        const request = validate(BookTicketsRequest, ctx.params);
        const result = await this.bookingBatches.submit(bookingRequestOf(request, ctx.meta));
        // the booking as the ops report shows it, once its BookingMade_v1 is handled
        return reply(ctx.meta, result, (created) => `/api/ops/bookings/${created.booking_id}`);
      },
    },
  },

  subscriptions: {
    /**
     * Dead Nation takes no idempotency key, so a booking reaches it at most once (docs/slow-partners.md):
     * each attempt is on record before the call, and one that ended in doubt (no answer, a reset, a
     * 500/502/504 that may follow the booking) parks the booking in the dead letters instead of booking again; an operator checks with Dead
     * Nation, then replays it (books) or drops it. A clean refusal closes its attempt and is retried.
     */
    BookPlaceInDeadNation: on<typeof BookingMade_v1, HandlerThis & { deadNationEvents: bookings.DeadNationEvents }>(
      BookingMade_v1,
      async function (booking, delivery) {
        if (delivery.earlierAttempt && !delivery.replayed) throw bookingInDoubt(booking.booking_id);
        const eventId = await this.deadNationEvents.of(delivery.trx, booking.show_id);
        if (!eventId) throw new PermanentError(`show ${booking.show_id} of booking ${booking.booking_id} does not exist`);
        await this.runtime.gateway.deadNation.book(
          {
            booking_id: booking.booking_id,
            event_id: eventId,
            number_of_tickets: booking.number_of_tickets,
            customer_address: booking.customer_email,
          },
          delivery,
        );
      },
      { inbox: (booking) => booking.booking_id, recordAttempts: true },
    ),
  },
};

function bookingInDoubt(bookingId: string): PermanentError {
  return new PermanentError(
    `booking ${bookingId} may already be at Dead Nation: an earlier attempt ended without an answer it can trust. ` +
      "Check with Dead Nation, then replay this dead letter to book it, or drop it if Dead Nation has it",
  );
}

export default BookingsService;
