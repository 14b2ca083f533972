import type { Knex } from "knex";

/**
 * Ids are lower case from the API onwards; the ops read model used to key tickets by the partner's
 * casing, so its upper-case keys are folded once here (uuid columns never kept a casing). Where
 * both casings of one ticket exist in a booking, the lower-case entry wins: later events reached it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE read_model_ops_bookings AS b
       SET payload = jsonb_set(b.payload, '{tickets}', folded.tickets)
      FROM (
        SELECT booking_id, jsonb_object_agg(lower(t.key), t.value ORDER BY t.key COLLATE "C") AS tickets
          FROM read_model_ops_bookings, jsonb_each(payload->'tickets') AS t
         GROUP BY booking_id
      ) AS folded
     WHERE folded.booking_id = b.booking_id
       AND EXISTS (SELECT 1 FROM jsonb_object_keys(b.payload->'tickets') AS k WHERE k <> lower(k));

    DELETE FROM ops_tickets_without_booking AS upper_case
     WHERE ticket_id <> lower(ticket_id)
       AND EXISTS (SELECT 1 FROM ops_tickets_without_booking AS o WHERE o.ticket_id = lower(upper_case.ticket_id));
    UPDATE ops_tickets_without_booking SET ticket_id = lower(ticket_id) WHERE ticket_id <> lower(ticket_id);
  `);
}

/** Casing is not restored: lower-case ids are as valid as they were. */
export async function down(): Promise<void> {}
