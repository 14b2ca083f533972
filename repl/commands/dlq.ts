import type { DeadLetterDetail, DeadLetterSummary, ReplayResult } from "../../lib/messaging/dead-letters.ts";
import type { ReplCommand, ReplHelpers } from "../command.ts";
import { failure, renderTable } from "../format.ts";
import type { ServiceBroker } from "moleculer";

const usage = "usage: dlq list | dlq show <id> | dlq replay <id|all> | dlq drop <id>";

/** Keeps a table cell on one line. */
const oneLine = (text: string, max = 60) => {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** The payload indented when it is JSON, as stored when it is not (a malformed message). */
function prettyJson(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

const subcommands: Record<string, (broker: ServiceBroker, id: string | undefined, helpers: ReplHelpers) => Promise<string>> = {
  async list(broker, _id, helpers) {
    const letters = await broker.call<DeadLetterSummary[]>("admin.dlqList");
    if (letters.length === 0) return helpers.kleur.green("No dead letters.");
    return renderTable(
      helpers,
      ["Id", "Handler", "Message", "Deliveries", "Error", "Since"],
      letters.map((l) => [l.id, l.handler, l.name, l.deliveries, oneLine(l.error), l.createdAt]),
    );
  },

  async show(broker, id, helpers) {
    const letter = await broker.call<DeadLetterDetail, { id?: string }>("admin.dlqShow", { id });
    const table = renderTable(
      helpers,
      ["Dead letter", String(letter.id)],
      [
        ["Service", letter.service],
        ["Handler", letter.handler],
        ["Message", `${letter.name} (${letter.messageId})`],
        ["Subject", letter.subject],
        ["Deliveries", letter.deliveries],
        ["Error", letter.error],
        ["Since", letter.createdAt],
        ["Correlation id", letter.metadata.correlation_id || "-"],
      ],
    );
    return `${table}${helpers.kleur.bold("Payload")}\n${prettyJson(letter.payload)}`;
  },

  async replay(broker, id, helpers) {
    const results = await broker.call<ReplayResult[], { id?: string }>("admin.dlqReplay", { id });
    if (results.length === 0) return helpers.kleur.green("No dead letters to replay.");
    return renderTable(
      helpers,
      ["Id", "Replayed", "Error"],
      results.map((r) => [r.id, r.replayed ? helpers.kleur.green("yes") : helpers.kleur.red("no"), r.error ? oneLine(r.error) : "-"]),
    );
  },

  async drop(broker, id, helpers) {
    await broker.call("admin.dlqDrop", { id });
    return helpers.kleur.green(`Dead letter ${id} dropped.`);
  },
};

/** `dlq list|show <id>|replay <id|all>|drop <id>`: the dead-letter store (admin.dlq* actions). */
const dlq: ReplCommand = {
  command: "dlq [subcommand] [id]",
  description: "Dead letters: dlq list | show <id> | replay <id|all> | drop <id>",
  async action(broker, args, helpers) {
    const run = subcommands[args.subcommand ?? "list"];
    if (!run || (args.subcommand !== "list" && args.subcommand !== undefined && !args.id)) {
      console.log(helpers.kleur.yellow(usage));
      return;
    }
    try {
      console.log(await run(broker, args.id, helpers));
    } catch (error) {
      console.log(failure(helpers, error));
    }
  },
};

export default dlq;
