import { randomInt } from "node:crypto";

const BASE57 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/**
 * A correlation id for work that arrived without one: `gen_` + 22 base57 characters, the format the
 * original system's Go client made up (shortuuid), so logs and partners see one shape whoever mints it.
 */
export function newCorrelationId(): string {
  let id = "gen_";
  for (let i = 0; i < 22; i++) id += BASE57[randomInt(BASE57.length)];
  return id;
}
