import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { sessionSettings } from "./db.ts";

/** Waits between attempts to get LISTEN back: quick at first, then every few seconds, forever. */
const RELISTEN_FIRST_MS = 100;
const RELISTEN_MAX_MS = 5_000;

export interface ListenerOptions {
  /** Its own connection: a pooled one would be handed to other queries and miss notifications. */
  postgresUrl: string;
  channel: string;
  applicationName: string;
  logger: Logger;
  onNotification(): void;
  /** LISTEN is up again after a loss: whatever was notified meanwhile was missed. */
  onRelisten?(): void;
  /** LISTEN is gone until onRelisten. */
  onLost?(): void;
}

/**
 * One channel's LISTEN on a connection of its own. When the connection goes away it says so and
 * gets LISTEN back with capped backoff, however long Postgres stays away, until stopped.
 */
export class PgListener {
  private client?: pg.Client;
  private running = false;

  constructor(private readonly options: ListenerOptions) {
    // sent as written (pg_stat_activity shows it so), so only a plain lower-case name
    if (!/^[a-z_]+$/.test(options.channel)) throw new Error(`not a plain channel name: ${options.channel}`);
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.listen();
  }

  async stop(): Promise<void> {
    this.running = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.postgresUrl,
      application_name: this.options.applicationName,
      ...sessionSettings(undefined),
    });
    client.on("notification", () => this.options.onNotification());
    client.on("error", (error) => this.lost(client, error.message));
    client.on("end", () => this.lost(client, "connection ended"));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.running) this.client = client;
    else await client.end().catch(() => undefined);
  }

  private lost(client: pg.Client, reason: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    if (!this.running) return;
    this.options.logger.warn({ err: reason, channel: this.options.channel }, "LISTEN connection lost; getting it back");
    this.options.onLost?.();
    void this.relisten();
  }

  private async relisten(): Promise<void> {
    for (let delay = RELISTEN_FIRST_MS; this.running; delay = Math.min(delay * 2, RELISTEN_MAX_MS)) {
      await sleep(delay, undefined, { ref: false });
      if (!this.running) return;
      try {
        await this.listen();
        this.options.logger.info({ channel: this.options.channel }, "LISTEN re-established");
        this.options.onRelisten?.();
        return;
      } catch (error) {
        this.options.logger.warn(
          { err: errorMessage(error), channel: this.options.channel, retry_in_ms: delay * 2 },
          "LISTEN not back yet",
        );
      }
    }
  }
}
