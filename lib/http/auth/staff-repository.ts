import type { Database } from "../../database/db.ts";
import type { Role } from "./roles.ts";

export interface StaffUser {
  user_id: string;
  username: string;
  role: Role;
  created_at: Date;
}
export interface StaffSession {
  username: string;
  role: Role;
  csrf_token: string;
  expires_at: Date;
}
export interface ApiTokenRow {
  token_id: string;
  username: string;
  name: string;
  created_at: Date;
}

const userColumns = ["user_id", "username", "role", "created_at"];

/** The SQL of staff users, sessions, API tokens and seen partner signatures (schema: migrations/20261201_030_staff_access.ts). */
export const staffRepository = (db: Database) => ({
  async anyUser(): Promise<boolean> {
    return (await db("staff_users").first("user_id")) !== undefined;
  },

  async createUser(username: string, role: Role, passwordHash: string): Promise<StaffUser> {
    const [user] = await db("staff_users").insert({ username, role, password_hash: passwordHash }).returning(userColumns);
    return user;
  },
  async userWithHash(username: string): Promise<(StaffUser & { password_hash: string }) | undefined> {
    return db("staff_users")
      .where({ username })
      .first([...userColumns, "password_hash"]);
  },
  listUsers(): Promise<StaffUser[]> {
    return db("staff_users").orderBy("username").select(userColumns);
  },
  /** Changing a role or password ends the user's sessions: they sign in again under the new terms. */
  async updateUser(username: string, change: { role?: Role; password_hash?: string }): Promise<boolean> {
    return db.transaction(async (trx) => {
      const [user] = await trx("staff_users").where({ username }).update(change).returning("user_id");
      if (user) await trx("staff_sessions").where({ user_id: user.user_id }).delete();
      return user !== undefined;
    });
  },
  async removeUser(username: string): Promise<boolean> {
    return (await db("staff_users").where({ username }).delete()) > 0;
  },

  async createSession(userId: string, sessionDigest: string, csrfToken: string, ttlMs: number): Promise<void> {
    await db("staff_sessions").insert({
      session_digest: sessionDigest,
      user_id: userId,
      csrf_token: csrfToken,
      expires_at: db.raw("now() + ? * interval '1 millisecond'", [ttlMs]),
    });
  },
  async liveSession(sessionDigest: string): Promise<StaffSession | undefined> {
    return db("staff_sessions as s")
      .join("staff_users as u", "u.user_id", "s.user_id")
      .where("s.session_digest", sessionDigest)
      .andWhere("s.expires_at", ">", db.fn.now())
      .first("u.username", "u.role", "s.csrf_token", "s.expires_at");
  },
  async endSession(sessionDigest: string): Promise<void> {
    await db("staff_sessions").where({ session_digest: sessionDigest }).delete();
  },

  async createToken(username: string, name: string, tokenDigest: string): Promise<ApiTokenRow | undefined> {
    const user = await db("staff_users").where({ username }).first("user_id");
    if (!user) return undefined;
    const [row] = await db("staff_api_tokens")
      .insert({ token_digest: tokenDigest, user_id: user.user_id, name })
      .returning(["token_id", "name", "created_at"]);
    return { ...row, username };
  },
  async tokenOwner(tokenDigest: string): Promise<{ username: string; role: Role } | undefined> {
    return db("staff_api_tokens as t")
      .join("staff_users as u", "u.user_id", "t.user_id")
      .where("t.token_digest", tokenDigest)
      .first("u.username", "u.role");
  },
  listTokens(): Promise<ApiTokenRow[]> {
    return db("staff_api_tokens as t")
      .join("staff_users as u", "u.user_id", "t.user_id")
      .orderBy("t.created_at")
      .select("t.token_id", "u.username", "t.name", "t.created_at");
  },
  async revokeToken(tokenId: string): Promise<boolean> {
    return (await db("staff_api_tokens").where({ token_id: tokenId }).delete()) > 0;
  },

  /** False when this signature was accepted before: the callback is a replay. */
  async firstUseOfSignature(signature: string): Promise<boolean> {
    const inserted = await db("partner_signatures_seen").insert({ signature }).onConflict("signature").ignore().returning("signature");
    return inserted.length > 0;
  },
  /** A callback that failed on our side (5xx) may be retried with the same signature. */
  async forgetSignature(signature: string): Promise<void> {
    await db("partner_signatures_seen").where({ signature }).delete();
  },
  /** Signatures older than the timestamp tolerance can no longer pass, nor can expired sessions. */
});

export type StaffRepository = ReturnType<typeof staffRepository>;
