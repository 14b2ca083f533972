import { NewPassword, Username } from "../../../contracts/staff.ts";
import type { Database } from "../../database/db.ts";
import { hashPassword } from "./passwords.ts";
import { isRole, ROLES } from "./roles.ts";
import { digestOf, newSecret } from "./secrets.ts";
import { staffRepository } from "./staff-repository.ts";

export const USAGE = `usage: npm run users -- <command>
  add <username> --role viewer|operator|admin   create a user (password read from stdin, or asked for)
  list                                          users and their roles
  role <username> <role>                        change a role (ends the user's sessions)
  password <username>                           set a new password (ends the user's sessions)
  remove <username>                             delete a user, their sessions and tokens
  token add <username> [--name <label>]         create an API token, printed once
  token list                                    tokens by id, user and label (never the token)
  token revoke <token_id>                       delete a token`;

export class UsageError extends Error {}

export interface CommandIo {
  readPassword(): Promise<string>;
  print(line: string): void;
}

const option = (args: string[], name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};

function checked<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } },
  value: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

function roleArg(value: string | undefined) {
  if (!isRole(value)) throw new UsageError(`role must be one of ${ROLES.join(", ")}`);
  return value;
}

const newPasswordHash = async (io: CommandIo) => hashPassword(checked(NewPassword, await io.readPassword(), "password"));

/** One `npm run users` command against the database; throws UsageError for a wrong command line. */
export async function runUsersCommand(db: Database, args: string[], io: CommandIo): Promise<void> {
  const staff = staffRepository(db);
  const [command, first, second] = args;
  const found = (done: boolean, what: string) => {
    if (!done) throw new UsageError(`no such ${what}`);
  };
  switch (command) {
    case "add": {
      const username = checked(Username, first, "username");
      const role = roleArg(option(args, "--role"));
      if (await staff.userWithHash(username)) throw new UsageError(`user ${username} exists already`);
      const user = await staff.createUser(username, role, await newPasswordHash(io));
      return io.print(`created ${user.username} (${user.role})`);
    }
    case "list":
      for (const user of await staff.listUsers()) io.print(`${user.username}\t${user.role}\t${user.created_at.toISOString()}`);
      return;
    case "role":
      found(await staff.updateUser(checked(Username, first, "username"), { role: roleArg(second) }), "user");
      return io.print(`${first} is now ${second}`);
    case "password":
      found(await staff.updateUser(checked(Username, first, "username"), { password_hash: await newPasswordHash(io) }), "user");
      return io.print(`password of ${first} changed`);
    case "remove":
      found(await staff.removeUser(checked(Username, first, "username")), "user");
      return io.print(`removed ${first}`);
    case "token":
      return tokenCommand(staff, args.slice(1), io);
    default:
      throw new UsageError(USAGE);
  }
}

async function tokenCommand(staff: ReturnType<typeof staffRepository>, args: string[], io: CommandIo): Promise<void> {
  const [command, first] = args;
  if (command === "add") {
    const token = newSecret("tkt_");
    const row = await staff.createToken(checked(Username, first, "username"), option(args, "--name") ?? "api", digestOf(token));
    if (!row) throw new UsageError("no such user");
    io.print(`token ${row.token_id} for ${row.username} (${row.name}); shown only now:`);
    return io.print(token);
  }
  if (command === "list") {
    for (const row of await staff.listTokens()) io.print(`${row.token_id}\t${row.username}\t${row.name}\t${row.created_at.toISOString()}`);
    return;
  }
  if (command === "revoke") {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(first ?? ""))
      throw new UsageError("token_id must be a UUID");
    if (!(await staff.revokeToken(first!))) throw new UsageError("no such token");
    return io.print(`revoked ${first}`);
  }
  throw new UsageError(USAGE);
}
