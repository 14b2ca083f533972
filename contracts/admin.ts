import { z } from "zod";

/** Parameters of the admin actions; REPL arguments and HTTP query strings arrive as text, hence coerce. */
const DeadLetterId = z.coerce
  .number({ message: "must be a dead-letter id" })
  .int("must be a dead-letter id")
  .positive("must be a dead-letter id");

export const DeadLetterParams = z.object({ id: DeadLetterId });

/** A page of the dead-letter list: oldest first, after the id `after` (the last one of the previous page). */
export const DEAD_LETTER_PAGE_MAX = 500;
export const DeadLetterListParams = z.object({
  limit: z.coerce
    .number({ message: `must be a whole number from 1 to ${DEAD_LETTER_PAGE_MAX}` })
    .int(`must be a whole number from 1 to ${DEAD_LETTER_PAGE_MAX}`)
    .min(1, `must be a whole number from 1 to ${DEAD_LETTER_PAGE_MAX}`)
    .max(DEAD_LETTER_PAGE_MAX, `must be a whole number from 1 to ${DEAD_LETTER_PAGE_MAX}`)
    .default(DEAD_LETTER_PAGE_MAX),
  after: DeadLetterId.optional(),
});

export const ReplayParams = z.object({ id: z.union([z.literal("all"), DeadLetterId], { message: 'must be a dead-letter id or "all"' }) });

/** The read models an operator can rebuild from history. */
export const READ_MODEL_NAMES = ["ops-bookings"] as const;
export type ReadModelName = (typeof READ_MODEL_NAMES)[number];

export const RebuildParams = z.object({
  name: z.enum(READ_MODEL_NAMES, { message: `must be one of: ${READ_MODEL_NAMES.join(", ")}` }),
});
