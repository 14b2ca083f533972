import type { OutboxStatus } from "../../lib/inspection/outbox-status.ts";
import type { ReplCommand } from "../command.ts";
import { failure, formatDuration, renderTable } from "../format.ts";

/** `outbox`: backlog, oldest pending row, relay rate and Redis mirror lag (admin.outbox). */
const outbox: ReplCommand = {
  command: "outbox",
  description: "Outbox backlog, relay rate and Redis mirror lag",
  async action(broker, _args, helpers) {
    let status: OutboxStatus;
    try {
      status = await broker.call<OutboxStatus>("admin.outbox");
    } catch (error) {
      console.log(failure(helpers, error));
      return;
    }
    console.log(
      renderTable(
        helpers,
        ["Outbox", "Value"],
        [
          ["Pending rows", status.pending],
          ["Failing rows", status.failing],
          ["Oldest pending", formatDuration(status.oldestPendingAgeMs)],
          ["Published (last min)", status.publishedLastMinute],
          ["Relay rate", `${status.relayRatePerSecond} msg/s`],
        ],
      ),
    );
    if (status.mirror === null) {
      console.log(helpers.kleur.gray("Redis mirror: not running on the node that answered"));
      return;
    }
    console.log(
      renderTable(
        helpers,
        ["Mirrored stream", "Last seq", "Mirrored seq", "Behind"],
        status.mirror.map((s) => [s.stream, s.lastSeq, s.mirroredSeq, s.behind > 0 ? helpers.kleur.yellow(String(s.behind)) : 0]),
      ),
    );
  },
};

export default outbox;
