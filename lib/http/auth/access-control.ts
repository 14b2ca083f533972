import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../../../config/index.ts";
import type { Database } from "../../database/db.ts";
import type { Logger } from "../../observability/logger.ts";
import { HttpError } from "../http-errors.ts";
import { requestHeader } from "../request-context.ts";
import { type AccessMode, accessModeOf } from "./access-mode.ts";
import { bearerToken, CSRF_HEADER, clientOf, isStateChanging, sessionCookie } from "./credentials.ts";
import { checkPartnerSignature, SIGNATURE_HEADER } from "./partner-signature.ts";
import type { RateBucket, RateLimiter } from "./rate-limit.ts";
import { hasRole, type Role } from "./roles.ts";
import type { Requirement } from "./route-access.ts";
import { digestOf, sameSecret } from "./secrets.ts";
import { staffRepository } from "./staff-repository.ts";
import type { TokenOwners } from "./token-owners.ts";

/** Who a request acts for. `development`: nothing is configured, everyone may do everything. */
export interface Principal {
  via: "development" | "session" | "api-token" | "admin-token" | "metrics-token" | "partner";
  role?: Role;
  username?: string;
  /** A session's CSRF token and digest (sign-out ends it). */
  csrfToken?: string;
  sessionDigest?: string;
}

export interface AccessRequest extends IncomingMessage {
  $principal?: Principal | null;
  /** The JSON body as received, kept by the body parser for signature checks. */
  rawBody?: Buffer;
}

export interface AccessDeps {
  config: Config;
  db: Database;
  limiter: RateLimiter;
  tokenOwners: TokenOwners;
  logger: Logger;
}

const DEVELOPMENT: Principal = { via: "development", role: "admin" };

const unauthorized = (res: ServerResponse, message: string) => {
  res.setHeader("WWW-Authenticate", 'Bearer realm="tickets"');
  return new HttpError(401, message);
};
const tooMany = (res: ServerResponse, windowMs: number) => {
  res.setHeader("Retry-After", String(Math.ceil(windowMs / 1000)));
  return new HttpError(429, "too many attempts from this client; wait and try again");
};

/**
 * Authenticates a request (bearer token, session cookie, partner signature) and checks it against
 * a route's requirement. Refusals throw before any action runs: 401 without valid credentials, 403
 * for a role too low or a session request without its CSRF token, 429 over a rate limit.
 */
export function accessControl({ config, db, limiter, tokenOwners, logger }: AccessDeps) {
  const staff = staffRepository(db);
  const mode = (): Promise<AccessMode> => accessModeOf(config, db);

  async function limit(bucket: RateBucket, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!(await limiter.hit(bucket, clientOf(req)))) throw tooMany(res, config.RATE_LIMIT_WINDOW_MS);
  }

  async function failed(req: IncomingMessage, res: ServerResponse, message: string): Promise<never> {
    await limiter.hit("auth-failure", clientOf(req));
    throw unauthorized(res, message);
  }

  async function byToken(token: string, req: IncomingMessage, res: ServerResponse): Promise<Principal> {
    if (config.ADMIN_TOKEN && sameSecret(token, config.ADMIN_TOKEN)) return { via: "admin-token", role: "admin", username: "ADMIN_TOKEN" };
    if (config.METRICS_TOKEN && sameSecret(token, config.METRICS_TOKEN)) return { via: "metrics-token" };
    const owner = await tokenOwners.ownerOf(digestOf(token), staff.tokenOwner);
    if (owner) return { via: "api-token", ...owner };
    return failed(req, res, "invalid token: an admin token or API token is required (Authorization: Bearer <token>)");
  }

  /** The caller's credentials, `null` when it presents none (or only an expired session). Cached on the request. */
  async function authenticate(req: AccessRequest, res: ServerResponse): Promise<Principal | null> {
    if (req.$principal === undefined) req.$principal = await identify(req, res);
    return req.$principal;
  }

  async function identify(req: AccessRequest, res: ServerResponse): Promise<Principal | null> {
    if ((await mode()) === "development") return DEVELOPMENT;
    const token = bearerToken(req);
    const cookie = sessionCookie(req);
    if (token !== undefined || cookie !== undefined || requestHeader(req, SIGNATURE_HEADER)) {
      if (await limiter.exceeded("auth-failure", clientOf(req))) throw tooMany(res, config.RATE_LIMIT_WINDOW_MS);
    }
    if (token === null) return failed(req, res, "an admin token or API token is required as Authorization: Bearer <token>");
    if (token !== undefined) return byToken(token, req, res);
    if (cookie === undefined) return null;
    const sessionDigest = digestOf(cookie);
    const session = await staff.liveSession(sessionDigest);
    if (!session) return null;
    return { via: "session", username: session.username, role: session.role, csrfToken: session.csrf_token, sessionDigest };
  }

  /** A session may change state only with the CSRF token the console got at sign-in; a page of another origin cannot read it. */
  function checkCsrf(principal: Principal, req: IncomingMessage): void {
    if (principal.via !== "session" || !isStateChanging(req.method)) return;
    const presented = requestHeader(req, CSRF_HEADER);
    if (!presented || !sameSecret(presented, principal.csrfToken!)) {
      throw new HttpError(403, `missing or wrong ${CSRF_HEADER}: reload the console and try again`);
    }
  }

  /** A signed partner callback, accepted once: the same signature again is a replay. */
  async function byPartnerSignature(req: AccessRequest, res: ServerResponse): Promise<Principal> {
    if (!config.PARTNER_SIGNING_SECRET) return failed(req, res, "partner callbacks are not accepted: PARTNER_SIGNING_SECRET is not set");
    const check = checkPartnerSignature(requestHeader(req, SIGNATURE_HEADER), req.rawBody, config.PARTNER_SIGNING_SECRET);
    if (!check.valid) return failed(req, res, `invalid partner signature: ${check.reason}`);
    if (!(await staff.firstUseOfSignature(check.signature))) return failed(req, res, "invalid partner signature: already used (replay)");
    res.once("finish", () => {
      if (res.statusCode >= 500) void staff.forgetSignature(check.signature).catch(() => undefined);
    });
    req.$principal = { via: "partner" };
    return req.$principal;
  }

  async function requireRole(principal: Principal | null, role: Role, req: IncomingMessage, res: ServerResponse): Promise<Principal> {
    if (!principal) throw unauthorized(res, "sign in, or send an admin token or API token as Authorization: Bearer <token>");
    if (!principal.role || !hasRole(principal.role, role)) throw new HttpError(403, `this needs the ${role} role`);
    checkCsrf(principal, req);
    return principal;
  }

  /** Throws unless the request may use a route with this requirement; returns who it acts for. */
  async function authorize(req: AccessRequest, res: ServerResponse, requirement: Requirement): Promise<Principal | null> {
    const principal = await authenticate(req, res);
    if (principal?.via === "development" || requirement === "liveness") return principal;
    if (requirement === "open" || requirement === "readiness") {
      if (!principal) await limit("anonymous", req, res);
      return principal;
    }
    if (requirement === "scrape") {
      if (principal?.via === "metrics-token" || principal?.role === "admin") return principal;
      if (principal) throw new HttpError(403, "this needs the metrics token or an admin");
      throw unauthorized(res, "send Authorization: Bearer <METRICS_TOKEN>, or scrape the internal METRICS_PORT");
    }
    if (requirement === "partner-or-operator") {
      if (!principal) return byPartnerSignature(req, res);
      return requireRole(principal, "operator", req, res);
    }
    return requireRole(principal, requirement.role, req, res);
  }

  /** The checks of `/ready` are for a scraper or an admin; anyone else learns only ready or not. */
  const seesDetails = (principal: Principal | null) =>
    principal?.via === "development" || principal?.via === "metrics-token" || principal?.role === "admin";

  async function announce(): Promise<void> {
    if ((await mode()) === "development") {
      logger.warn(
        { access: "development" },
        "ACCESS CONTROL OFF: development mode, every route is open to anyone. Create the first admin with `npm run users -- add <name> --role admin`, or set ADMIN_TOKEN",
      );
    } else if (!config.PARTNER_SIGNING_SECRET) {
      logger.warn({ access: "enforced" }, "PARTNER_SIGNING_SECRET is unset: partner callbacks are refused unless staff post them");
    }
  }

  /** Listens for credential changes (the token cache), and says loudly when the node runs open. */
  async function start(): Promise<void> {
    await tokenOwners.start();
    await announce();
  }

  return { mode, authenticate, authorize, seesDetails, limit, failed, staff, config, start, stop: () => tokenOwners.stop() };
}

export type AccessControl = ReturnType<typeof accessControl>;
