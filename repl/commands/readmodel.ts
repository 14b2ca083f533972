import type { ReplCommand } from "../command.ts";
import { failure } from "../format.ts";
import { rebuildableReadModels } from "../../lib/ops-admin/read-models.ts";

/** `readmodel rebuild <name>`: rebuilds a read model from history (admin.rebuildReadModel). */
const readmodel: ReplCommand = {
  command: "readmodel [verb] [name]",
  description: `Rebuild a read model: readmodel rebuild <${Object.keys(rebuildableReadModels).join("|")}>`,
  async action(broker, args, helpers) {
    if (args.verb !== "rebuild" || !args.name) {
      console.log(helpers.kleur.yellow(`usage: readmodel rebuild <${Object.keys(rebuildableReadModels).join("|")}>`));
      return;
    }
    console.log(helpers.kleur.gray(`Rebuilding ${args.name}; progress is logged by the node doing the work…`));
    const started = Date.now();
    try {
      const result = await broker.call("admin.rebuildReadModel", { name: args.name });
      console.log(helpers.kleur.green(`Rebuilt ${args.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`), result ?? "");
    } catch (error) {
      console.log(failure(helpers, error));
    }
  },
};

export default readmodel;
