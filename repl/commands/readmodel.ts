import type { RebuildStatus } from "../../lib/inspection/read-models.ts";
import { READ_MODEL_NAMES } from "../../contracts/admin.ts";
import type { ReplCommand } from "../command.ts";
import { failure } from "../format.ts";

const PROGRESS_EVERY_MS = 1000;
const names = READ_MODEL_NAMES.join("|");

/** `readmodel rebuild <name>`: rebuilds a read model from history, printing its progress (admin.rebuildReadModel). */
const readmodel: ReplCommand = {
  command: "readmodel [verb] [name]",
  description: `Rebuild a read model: readmodel rebuild <${names}>`,
  async action(broker, args, helpers) {
    if (args.verb !== "rebuild" || !args.name) {
      console.log(helpers.kleur.yellow(`usage: readmodel rebuild <${names}>`));
      return;
    }
    const name = args.name;
    console.log(helpers.kleur.gray(`Rebuilding ${name}…`));
    let lastLine = "";
    const progress = setInterval(() => {
      broker
        .call<RebuildStatus | null, { name: string }>("admin.rebuildStatus", { name })
        .then((status) => {
          const line = status && !status.finishedAt ? `  ${status.applied} events applied, ${status.skipped} skipped` : "";
          if (line && line !== lastLine) console.log(helpers.kleur.gray(line));
          lastLine = line || lastLine;
        })
        .catch(() => undefined);
    }, PROGRESS_EVERY_MS);
    const started = Date.now();
    try {
      const result = await broker.call<{ applied: number; skipped: number }, { name: string }>("admin.rebuildReadModel", { name });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(helpers.kleur.green(`Rebuilt ${name} in ${seconds} s: ${result.applied} events applied, ${result.skipped} skipped.`));
    } catch (error) {
      console.log(failure(helpers, error));
    } finally {
      clearInterval(progress);
    }
  },
};

export default readmodel;
