import type { ShowSales } from "../contracts/http.ts";
import type { Database } from "../lib/database/db.ts";
import { OPS_TABLE, ZERO_TIME } from "./ops.read-model.ts";

/** How many buckets the sales curve of a show has at most. */
const SALES_BUCKETS = 48;

/**
 * A show's sales as the read model tells them: tickets confirmed over time (canceled ones left
 * out) and how far each ticket got, confirmed → printed → receipt → refunded, with the median time
 * of each step. Reads only the show's bookings (index on show_id); the answer has a fixed size.
 */
export async function showSales(db: Database, showId: string): Promise<ShowSales> {
  const ticketsOfShow = `
    WITH tickets AS (
      SELECT CAST(NULLIF(t.ticket->>'confirmed_at', :zero) AS timestamptz) AS confirmed,
             CAST(NULLIF(t.ticket->>'printed_at', :zero) AS timestamptz) AS printed,
             CAST(NULLIF(t.ticket->>'receipt_issued_at', :zero) AS timestamptz) AS receipt,
             CAST(NULLIF(t.ticket->>'refunded_at', :zero) AS timestamptz) AS refunded,
             CAST(NULLIF(t.ticket->>'canceled_at', :zero) AS timestamptz) AS canceled
      FROM ${OPS_TABLE} b, jsonb_each(b.payload->'tickets') AS t(ticket_id, ticket)
      WHERE b.show_id = :showId
    ), sold AS (SELECT * FROM tickets WHERE confirmed IS NOT NULL AND canceled IS NULL)`;
  const bindings = { zero: ZERO_TIME, showId, buckets: SALES_BUCKETS };
  const median = (step: string) => `percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ${step} - confirmed))`;
  const [funnelResult, curveResult] = await Promise.all([
    db.raw(
      `${ticketsOfShow}
       SELECT CAST(count(*) AS int) AS confirmed, CAST(count(printed) AS int) AS printed, CAST(count(receipt) AS int) AS receipt, CAST(count(refunded) AS int) AS refunded,
              ${median("printed")} AS to_print, ${median("receipt")} AS to_receipt, ${median("refunded")} AS to_refund
       FROM sold`,
      bindings,
    ),
    db.raw(
      `${ticketsOfShow}, span AS (SELECT min(confirmed) AS first, greatest(max(confirmed) - min(confirmed), interval '1 minute') AS width FROM sold)
       SELECT span.first + span.width * (bucket - 1) / :buckets AS at, CAST(count(*) AS int) AS tickets
       FROM sold, span, LATERAL (SELECT least(width_bucket(extract(epoch FROM confirmed - span.first), 0, extract(epoch FROM span.width), :buckets), :buckets) AS bucket) b
       GROUP BY span.first, span.width, bucket ORDER BY bucket`,
      bindings,
    ),
  ]);
  const funnel = funnelResult.rows[0];
  const seconds = (value: number | null) => (value === null ? null : Math.round(Number(value) * 10) / 10);
  return {
    show_id: showId,
    sold_over_time: curveResult.rows.map((row: { at: Date; tickets: number }) => ({ at: row.at.toISOString(), tickets: row.tickets })),
    funnel: {
      confirmed: funnel.confirmed,
      printed: funnel.printed,
      receipt: funnel.receipt,
      refunded: funnel.refunded,
      median_seconds_to_print: seconds(funnel.to_print),
      median_seconds_to_receipt: seconds(funnel.to_receipt),
      median_seconds_to_refund: seconds(funnel.to_refund),
    },
  };
}
