import { randomUUID } from "node:crypto";
import type { Context } from "moleculer";
import { BookingMade_v1 } from "../contracts/index.ts";
import { BookTicketsRequest } from "../contracts/http.ts";
import { PermanentError } from "../lib/errors.ts";
import { HttpError, validate } from "../lib/http/http-errors.ts";
import { oncePerRequest, reply } from "../lib/http/idempotency.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import { ConsumerMixin, on } from "../mixins/consumer.mixin.ts";
import { OutboxMixin } from "../mixins/outbox.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";
import * as bookings from "./bookings.repository.ts";

/** Bookings: seats of a show, never more than it has, and the matching booking at Dead Nation. */
const BookingsService: TicketsServiceSchema = {
  name: "bookings",
  mixins: [OutboxMixin(), ConsumerMixin()],

  actions: {
    /**
     * POST /api/book-tickets → 201 {booking_id} + Location: seats, booking row and BookingMade_v1 commit
     * together. Sold out is 400, an unknown show 404. Once per Idempotency-Key (or per HTTP request).
     */
    book: {
      async handler(ctx: Context<unknown, RequestMeta>) {
        const request = validate(BookTicketsRequest, ctx.params);
        const result = await this.transaction((trx) =>
          oncePerRequest(trx, "book-tickets", ctx.meta, request, async () => {
            const bookingId = randomUUID();
            if (!(await bookings.insertBooking(trx, bookingId, request))) throw new HttpError(404, "show not found");
            await this.publish(
              trx,
              {
                contract: BookingMade_v1,
                body: {
                  number_of_tickets: request.number_of_tickets,
                  booking_id: bookingId,
                  customer_email: request.customer_email,
                  show_id: request.show_id,
                },
                idempotencyKey: ctx.meta.idempotencyKey,
              },
              ctx.meta,
            );
            // Seats last: the show's row stays locked only from here to the commit, so bookers of
            // one show queue on the shortest possible window. A refusal rolls the rest back.
            if (!(await bookings.takeSeats(trx, request.show_id, request.number_of_tickets)))
              throw new HttpError(400, "not enough seats available");
            return { status: 201, body: { booking_id: bookingId } };
          }),
        );
        // the booking as the ops report shows it, once its BookingMade_v1 is handled
        return reply(ctx.meta, result, (created) => `/api/ops/bookings/${created.booking_id}`);
      },
    },
  },

  subscriptions: {
    /**
     * Dead Nation takes no idempotency key, so a booking reaches it at most once (docs/slow-partners.md):
     * each attempt is on record before the call, and one that ended in doubt (no answer, a reset)
     * parks the booking in the dead letters instead of booking again; an operator checks with Dead
     * Nation, then replays it (books) or drops it. A clean refusal closes its attempt and is retried.
     */
    BookPlaceInDeadNation: on(
      BookingMade_v1,
      async function (booking, delivery) {
        if (delivery.earlierAttempt && !delivery.replayed) throw bookingInDoubt(booking.booking_id);
        const eventId = await bookings.deadNationEventOf(delivery.trx, booking.show_id);
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
    `booking ${bookingId} may already be at Dead Nation: an earlier attempt got no answer. ` +
      "Check with Dead Nation, then replay this dead letter to book it, or drop it if Dead Nation has it",
  );
}

export default BookingsService;
