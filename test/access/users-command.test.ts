import test from "ava";
import { spawn } from "node:child_process";
import { createTestDatabase } from "../support/system.ts";
import { httpRequest, startTestSystem } from "../support/system.ts";

// `npm run users -- …` against a database of its own: the first admin before any node ran, tokens
// shown once and stored only as digests, and refusals for a wrong command line.

let database: Awaited<ReturnType<typeof createTestDatabase>>;
test.before(async () => {
  database = await createTestDatabase();
});
test.after.always(async () => {
  await database?.drop();
});

function users(args: string[], stdin = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bin/users.ts", ...args], {
      env: { ...process.env, POSTGRES_URL: database.url },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

test.serial("creates the first admin, an API token shown once, and manages both", async (t) => {
  const added = await users(["add", "alice", "--role", "admin"], "correct horse battery\n");
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /created alice \(admin\)/);
  t.regex((await users(["list"])).stdout, /^alice\tadmin\t/m);

  const token = await users(["token", "add", "alice", "--name", "ci"]);
  t.is(token.code, 0, token.stderr);
  const secret = token.stdout.trim().split("\n").at(-1)!;
  t.regex(secret, /^tkt_[A-Za-z0-9_-]{43}$/);
  const listed = await users(["token", "list"]);
  t.regex(listed.stdout, /\talice\tci\t/);
  t.false(listed.stdout.includes(secret), "the token is never shown again");

  // A node on this database enforces access and knows both credentials.
  const sys = await startTestSystem({ env: { POSTGRES_URL: database.url } });
  try {
    t.is((await sys.http("GET", "/api/tickets")).status, 401);
    t.is((await httpRequest(sys.url, "GET", "/api/tickets", undefined, { Authorization: `Bearer ${secret}` })).status, 200);
    const signedIn = await sys.http("POST", "/api/session", { username: "alice", password: "correct horse battery" });
    t.is(signedIn.status, 200);
    t.like(signedIn.body, { user: { username: "alice", role: "admin" } });

    t.is((await users(["role", "alice", "viewer"])).code, 0);
    const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    t.is((await sys.http("GET", "/api/tickets", undefined, { Cookie: cookie })).status, 401, "a role change ends the sessions");
    const tokenId = listed.stdout.split("\t")[0]!;
    t.is((await users(["token", "revoke", tokenId])).code, 0);
    t.is((await httpRequest(sys.url, "GET", "/api/tickets", undefined, { Authorization: `Bearer ${secret}` })).status, 401);
  } finally {
    await sys.stop();
  }
});

test.serial("a wrong command line is one message and exit code 2, changing nothing", async (t) => {
  for (const [args, stdin, message] of [
    [["add", "bob", "--role", "boss"], "long enough password", /role must be one of viewer, operator, admin/],
    [["add", "bob", "--role", "viewer"], "short", /password: at least 12 characters/],
    [["add", "b o b", "--role", "viewer"], "long enough password", /username/],
    [["add", "alice", "--role", "viewer"], "long enough password", /exists already/],
    [["remove", "nobody"], "", /no such user/],
    [["token", "revoke", "not-a-uuid"], "", /UUID/],
    [["frobnicate"], "", /usage: npm run users/],
  ] as [string[], string, RegExp][]) {
    const result = await users(args, stdin);
    t.is(result.code, 2, args.join(" "));
    t.regex(result.stderr, message, args.join(" "));
  }
  t.deepEqual((await users(["list"])).stdout.trim().split("\n").length, 1, "still only alice");
});
