import { PgListener } from "../../database/listener.ts";
import type { Logger } from "../../observability/logger.ts";
import type { Role } from "./roles.ts";

export interface TokenOwner {
  username: string;
  role: Role;
}

/** A bound on memory: a gateway's staff hold a handful of tokens, a flood of valid ones is not expected. */
const MAX_ENTRIES = 10_000;

export interface TokenOwnersOptions {
  postgresUrl: string;
  /** How long an entry is trusted without a notice (0: every request asks Postgres). */
  ttlMs: number;
  logger: Logger;
}

/**
 * The owners of API tokens this gateway has checked, so a request with a known token costs no
 * query (one per request was a tenth of a booking's cost). Postgres tells every gateway of any
 * change that could withdraw or lower a token (migration 037, whichever process makes it), and the
 * whole cache is dropped then; without LISTEN it is dropped and unused until LISTEN is back. A lookup
 * that overlapped a notice is not kept: its row may predate the change. Only found tokens are
 * kept, so a new token works at once and an unknown one always costs its query (and its limit).
 */
export class TokenOwners {
  private readonly owners = new Map<string, { owner: TokenOwner; until: number }>();
  /** Counts notices, so a lookup can tell that one came while it ran. */
  private changes = 0;
  private readonly listener: PgListener;

  constructor(private readonly options: TokenOwnersOptions) {
    const dropAll = () => {
      this.changes++;
      this.owners.clear();
    };
    this.listener = new PgListener({
      postgresUrl: options.postgresUrl,
      channel: "staff_credentials",
      applicationName: "tickets-gateway",
      logger: options.logger,
      onNotification: dropAll,
      onLost: dropAll,
      onRelisten: dropAll,
    });
  }

  async start(): Promise<void> {
    if (this.options.ttlMs > 0) await this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
  }

  async ownerOf(digest: string, lookup: (digest: string) => Promise<TokenOwner | undefined>): Promise<TokenOwner | undefined> {
    const kept = this.listener.listening ? this.owners.get(digest) : undefined;
    if (kept && kept.until > Date.now()) return kept.owner;
    const changesBefore = this.changes;
    const owner = await lookup(digest);
    if (owner && this.listener.listening && this.changes === changesBefore) this.keep(digest, owner);
    return owner;
  }

  private keep(digest: string, owner: TokenOwner): void {
    this.owners.delete(digest);
    if (this.owners.size >= MAX_ENTRIES) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(digest, { owner, until: Date.now() + this.options.ttlMs });
  }
}
