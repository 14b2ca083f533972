import type { ConsumerStatus } from "../../lib/inspection/consumer-status.ts";
import type { ReplCommand } from "../command.ts";
import { ago, failure, renderTable } from "../format.ts";

/** `consumers`: every durable JetStream consumer with its backlog and dead letters (admin.consumers). */
const consumers: ReplCommand = {
  command: "consumers",
  description: "Durable consumers: pending, in flight, redelivered, dead letters, last activity",
  async action(broker, _args, helpers) {
    let list: ConsumerStatus[];
    try {
      list = await broker.call<ConsumerStatus[]>("admin.consumers");
    } catch (error) {
      console.log(failure(helpers, error));
      return;
    }
    const now = Date.now();
    console.log(
      renderTable(
        helpers,
        ["Stream", "Durable", "Pending", "In flight", "Redelivered", "Dead letters", "Last active"],
        list.map((c) => [
          c.stream,
          c.durable,
          c.pending > 0 ? helpers.kleur.yellow(String(c.pending)) : 0,
          c.ackPending,
          c.redelivered,
          c.deadLetters > 0 ? helpers.kleur.red(String(c.deadLetters)) : 0,
          ago(c.lastActive, now),
        ]),
      ),
    );
  },
};

export default consumers;
