import { randomUUID } from "node:crypto";
import { hashPassword } from "../../lib/http/auth/passwords.ts";
import type { Role } from "../../lib/http/auth/roles.ts";
import { digestOf, newSecret } from "../../lib/http/auth/secrets.ts";
import { staffRepository } from "../../lib/http/auth/staff-repository.ts";
import type { TestSystem } from "../support/system.ts";

export interface StaffMember {
  username: string;
  password: string;
  role: Role;
  /** An API token of this user. */
  token: string;
}
export interface SignedIn {
  cookie: string;
  csrf: string;
}

/** A user of this role with an API token, written as `npm run users` writes them. */
export async function createStaff(sys: TestSystem, role: Role): Promise<StaffMember> {
  const staff = staffRepository(sys.node.runtime.db);
  const username = `${role}-${randomUUID().slice(0, 8)}`;
  const password = `pw-${randomUUID()}`;
  await staff.createUser(username, role, await hashPassword(password));
  const token = newSecret("tkt_");
  await staff.createToken(username, "test", digestOf(token));
  return { username, password, role, token };
}

/** Signs in over HTTP as the console does; the session cookie and the CSRF token its changes need. */
export async function signIn(sys: TestSystem, member: { username: string; password: string }): Promise<SignedIn> {
  const response = await sys.http("POST", "/api/session", { username: member.username, password: member.password });
  if (response.status !== 200) throw new Error(`sign-in of ${member.username} answered ${response.status} ${response.text}`);
  const cookie = response.headers.get("set-cookie")!.split(";")[0]!;
  return { cookie, csrf: response.body.csrf_token };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
export const session = ({ cookie, csrf }: SignedIn) => ({ Cookie: cookie, "X-CSRF-Token": csrf });
