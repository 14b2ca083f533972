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

/** Outbox backlog and relay throughput, plus the Redis mirror's lag when a mirror is at hand. */
export async function outboxStatus(db: Database, mirror?: Pick<RedisMirror, "lag">): Promise<OutboxStatus> {
  // Two queries so each uses its partial index (pending rows / published_at) instead of a full scan.
  const [pendingRow, publishedRow, mirrorLag] = await Promise.all([
    db("outbox")
      .whereNull("published_at")
      .select(
        db.raw("count(*)::int AS pending"),
        db.raw("count(*) FILTER (WHERE attempts > 0)::int AS failing"),
        db.raw("(extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::bigint AS oldest_age_ms"),
      )
      .first(),
    db("outbox")
      .where("published_at", ">", db.raw(`now() - make_interval(secs => ?)`, [RATE_WINDOW_SECONDS]))
      .select(db.raw("count(*)::int AS published"))
      .first(),
    mirror?.lag(),
  ]);
  const publishedLastMinute = Number(publishedRow?.published ?? 0);
  return {
    pending: Number(pendingRow?.pending ?? 0),
    failing: Number(pendingRow?.failing ?? 0),
    oldestPendingAgeMs: pendingRow?.oldest_age_ms == null ? null : Math.max(0, Number(pendingRow.oldest_age_ms)),
    publishedLastMinute,
    relayRatePerSecond: Math.round((publishedLastMinute / RATE_WINDOW_SECONDS) * 100) / 100,
    mirror: mirrorLag ? mirrorLag.map((s) => ({ ...s, behind: Math.max(0, s.lastSeq - s.mirroredSeq) })) : null,
  };
}
