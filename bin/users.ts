import { createInterface } from "node:readline/promises";
import { ConfigError, loadConfig } from "../config/index.ts";
import { createDatabase, migrateToLatest } from "../lib/database/db.ts";
import { runUsersCommand, UsageError } from "../lib/http/auth/users-command.ts";

/**
 * `npm run users -- …`: staff users and API tokens in the database POSTGRES_URL names (migrated
 * first, so it can create the first admin before any node ran). Passwords come from stdin when it is
 * piped, otherwise from a prompt that does not echo.
 */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text.replace(/\r?\n$/, "");
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  const output = prompt as unknown as { _writeToOutput(text: string): void };
  process.stdout.write("password: ");
  output._writeToOutput = () => undefined;
  const password = await prompt.question("");
  prompt.close();
  process.stdout.write("\n");
  return password;
}

let exitCode = 0;
try {
  const config = loadConfig();
  const db = createDatabase(config.POSTGRES_URL, { max: 2 });
  try {
    await migrateToLatest(db);
    await runUsersCommand(db, process.argv.slice(2), { readPassword, print: (line) => console.log(line) });
  } finally {
    await db.destroy();
  }
} catch (error) {
  if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
  console.error(error.message);
  exitCode = 2;
}
process.exitCode = exitCode;
