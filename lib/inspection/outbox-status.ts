import type { Database } from "../database/db.ts";
import type { MirrorLag, RedisMirror } from "../redis-mirror/mirror.ts";

/** How far a mirrored JetStream stream is ahead of its Redis Streams copy. */
export interface MirrorStreamLag extends MirrorLag {
  behind: number;
}

export interface OutboxStatus {
  /** Rows committed but not yet published to JetStream. */
  pending: number;
  /** Pending rows whose last publish attempt failed. */
  failing: number;
  /** Age of the oldest pending row; null when nothing is pending. */
  oldestPendingAgeMs: number | null;
  publishedLastMinute: number;
  /** Relay throughput over the last minute, from published_at. */
  relayRatePerSecond: number;
  /** Null when the answering node runs no Redis mirror. */
  mirror: MirrorStreamLag[] | null;
}

const RATE_WINDOW_SECONDS = 60;

export type OutboxBacklog = Pick<OutboxStatus, "pending" | "failing" | "oldestPendingAgeMs">;

/** Rows waiting for the relay; cheap, it reads the partial index of pending rows only. */
export async function outboxBacklog(db: Database): Promise<OutboxBacklog> {
  const row = await db("outbox")
    .whereNull("published_at")
    .select(
      db.raw("count(*)::int AS pending"),
      db.raw("count(*) FILTER (WHERE attempts > 0)::int AS failing"),
      db.raw("(extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::bigint AS oldest_age_ms"),
    )
    .first();
  return {
    pending: Number(row?.pending ?? 0),
    failing: Number(row?.failing ?? 0),
    oldestPendingAgeMs: row?.oldest_age_ms == null ? null : Math.max(0, Number(row.oldest_age_ms)),
  };
}

/** Outbox backlog and relay throughput, plus the Redis mirror's lag when a mirror is at hand. */
export async function outboxStatus(db: Database, mirror?: Pick<RedisMirror, "lag">): Promise<OutboxStatus> {
  // Two queries so each uses its partial index (pending rows / published_at) instead of a full scan.
  const [backlog, publishedRow, mirrorLag] = await Promise.all([
    outboxBacklog(db),
    db("outbox")
      .where("published_at", ">", db.raw(`now() - make_interval(secs => ?)`, [RATE_WINDOW_SECONDS]))
      .select(db.raw("count(*)::int AS published"))
      .first(),
    mirror?.lag(),
  ]);
  const publishedLastMinute = Number(publishedRow?.published ?? 0);
  return {
    ...backlog,
    publishedLastMinute,
    relayRatePerSecond: Math.round((publishedLastMinute / RATE_WINDOW_SECONDS) * 100) / 100,
    mirror: mirrorLag ? mirrorLag.map((s) => ({ ...s, behind: Math.max(0, s.lastSeq - s.mirroredSeq) })) : null,
  };
}
