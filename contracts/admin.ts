import { z } from "zod";
import { rebuildableReadModels } from "../lib/inspection/read-models.ts";

/** Parameters of the admin actions; REPL arguments and HTTP query strings arrive as text, hence coerce. */
const DeadLetterId = z.coerce
  .number({ message: "must be a dead-letter id" })
  .int("must be a dead-letter id")
  .positive("must be a dead-letter id");

export const DeadLetterParams = z.object({ id: DeadLetterId });

export const ReplayParams = z.object({ id: z.union([z.literal("all"), DeadLetterId], { message: 'must be a dead-letter id or "all"' }) });

export const RebuildParams = z.object({
  name: z.string().refine((name) => name in rebuildableReadModels, {
    message: `must be one of: ${Object.keys(rebuildableReadModels).join(", ")}`,
  }),
});
