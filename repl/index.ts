import type { ReplCommand } from "./command.ts";
import consumers from "./commands/consumers.ts";
import dlq from "./commands/dlq.ts";
import outbox from "./commands/outbox.ts";
import readmodel from "./commands/readmodel.ts";

/** The operator's commands, beside moleculer-repl's own (`nodes`, `services`, `call`, …). */
export const operatorCommands: ReplCommand[] = [outbox, consumers, dlq, readmodel];
