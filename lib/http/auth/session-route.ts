import type { ServerResponse } from "node:http";
import { SignInRequest } from "../../../contracts/staff.ts";
import { validate } from "../http-errors.ts";
import type { AccessControl, AccessRequest, Principal } from "./access-control.ts";
import { sessionCookieHeader } from "./credentials.ts";
import { verifyAgainstDecoy, verifyPassword } from "./passwords.ts";
import { digestOf, newSecret } from "./secrets.ts";

type SessionRequest = AccessRequest & { body?: unknown };
interface GatewayWithAccess {
  access: AccessControl;
  errorHandler(req: unknown, res: unknown, error: unknown): void;
}
type Handler = (this: GatewayWithAccess, req: SessionRequest, res: ServerResponse) => Promise<void>;

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
  res.end(JSON.stringify(body));
};

const describe = (principal: Principal, mode: string) => ({
  mode,
  user: principal.username ? { username: principal.username, role: principal.role } : null,
  role: principal.role ?? null,
  ...(principal.csrfToken ? { csrf_token: principal.csrfToken } : {}),
});

/** Sign-in: a password checked in constant work whether the user exists or not, then a fresh session. */
async function signIn(access: AccessControl, req: SessionRequest, res: ServerResponse): Promise<void> {
  await access.limit("sign-in", req, res);
  const { username, password } = validate(SignInRequest, req.body);
  const user = await access.staff.userWithHash(username);
  const valid = user ? await verifyPassword(password, user.password_hash) : await verifyAgainstDecoy(password);
  if (!user || !valid) await access.failed(req, res, "wrong user name or password");
  const session = newSecret();
  const csrfToken = newSecret();
  const ttlMs = access.config.SESSION_TTL_MS;
  await access.staff.createSession(user!.user_id, digestOf(session), csrfToken, ttlMs);
  res.setHeader("Set-Cookie", sessionCookieHeader(req, session, Math.floor(ttlMs / 1000)));
  const principal: Principal = { via: "session", username: user!.username, role: user!.role, csrfToken };
  sendJson(res, 200, describe(principal, await access.mode()));
}

/** Who the console is signed in as (401 when no one), with the CSRF token its changes must carry. */
async function current(access: AccessControl, req: SessionRequest, res: ServerResponse): Promise<void> {
  const principal = await access.authenticate(req, res);
  if (!principal) {
    res.setHeader("WWW-Authenticate", 'Bearer realm="tickets"');
    return sendJson(res, 401, { error: "not signed in" });
  }
  sendJson(res, 200, describe(principal, await access.mode()));
}

/** Sign-out ends the session on the server, not only the cookie. */
async function signOut(access: AccessControl, req: SessionRequest, res: ServerResponse): Promise<void> {
  const principal = await access.authenticate(req, res);
  if (principal?.via === "session") {
    await access.authorize(req, res, { role: "viewer" });
    await access.staff.endSession(principal.sessionDigest!);
  }
  res.setHeader("Set-Cookie", sessionCookieHeader(req, "", 0));
  res.writeHead(204).end();
}

const handler = (run: (access: AccessControl, req: SessionRequest, res: ServerResponse) => Promise<void>): Handler =>
  async function (this: GatewayWithAccess, req, res) {
    try {
      await run(this.access, req, res);
    } catch (error) {
      this.errorHandler(req, res, error);
    }
  };

/** The console's session, as its own moleculer-web route: `POST` signs in, `GET` tells who, `DELETE` signs out. */
export function sessionRoute() {
  return {
    path: "/api/session",
    mappingPolicy: "restrict" as const,
    autoAliases: false,
    bodyParsers: { json: { limit: "8kb", strict: true } },
    aliases: {
      "POST /": handler(signIn),
      "GET /": handler(current),
      "DELETE /": handler(signOut),
    },
  };
}
