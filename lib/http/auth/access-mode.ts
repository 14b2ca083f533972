import type { Config } from "../../../config/index.ts";
import type { Database } from "../../database/db.ts";
import { HttpError } from "../http-errors.ts";
import { staffRepository } from "./staff-repository.ts";

export type AccessMode = "enforced" | "development";

/** A user created while the node runs switches it to enforcement within this long. */
const RECHECK_MS = 1_000;

/** Settings any one of which is a credential: configuring it turns access control on for every route. */
export const credentialSettings = (config: Config) => Boolean(config.ADMIN_TOKEN || config.PARTNER_SIGNING_SECRET || config.METRICS_TOKEN);

const modes = new WeakMap<Database, () => Promise<AccessMode>>();

/**
 * Enforced as soon as any credential exists (a staff user, ADMIN_TOKEN, PARTNER_SIGNING_SECRET or
 * METRICS_TOKEN); otherwise the explicit development mode, open as the original was. Once enforced
 * a node stays enforced until it restarts, whatever happens to the users.
 */
export function accessModeOf(config: Config, db: Database): Promise<AccessMode> {
  let check = modes.get(db);
  if (!check) {
    let enforced = credentialSettings(config);
    let checkedAt = 0;
    check = async () => {
      if (!enforced && Date.now() - checkedAt >= RECHECK_MS) {
        // Without an answer from Postgres nobody can tell whether users exist: nothing is let through,
        // and the caller hears 503 (retry later), not a 401 that a client would take as final.
        enforced = await staffRepository(db)
          .anyUser()
          .catch((error: unknown) => {
            throw Object.assign(new HttpError(503, "access mode unknown: the user store does not answer"), { cause: error });
          });
        checkedAt = Date.now();
      }
      return enforced ? "enforced" : "development";
    };
    modes.set(db, check);
  }
  return check();
}
