// `npm start` on a fresh clone would die in the module loader with a stack trace: say what to do instead.
import { existsSync } from "node:fs";

if (!existsSync(new URL("../node_modules/tsx/package.json", import.meta.url))) {
  console.error("tickets: dependencies are not installed; run `npm ci` first (it also installs the Node 24 every script runs on)");
  process.exit(1);
}
