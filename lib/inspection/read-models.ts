import type { Database } from "../database/db.ts";

/** A rebuild replays history: far longer than an ordinary request. */
export const REBUILD_TIMEOUT_MS = 15 * 60_000;

export interface RebuildStatus {
  readModel: string;
  applied: number;
  skipped: number;
  startedAt: string;
  /** Null while the rebuild runs (or was interrupted and will resume). */
  finishedAt: string | null;
}

/** Where a rebuild keeps its progress: a checkpoint table and the row of its target. */
export interface RebuildCheckpoint {
  table: string;
  target: string;
}

/** Progress of the latest rebuild of a read model, from its checkpoint; null when it never ran. */
export async function rebuildStatus(db: Database, name: string, checkpoint: RebuildCheckpoint): Promise<RebuildStatus | null> {
  const row = await db(checkpoint.table).where({ target: checkpoint.target }).first();
  if (!row) return null;
  return {
    readModel: name,
    applied: row.applied,
    skipped: row.skipped,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
  };
}
