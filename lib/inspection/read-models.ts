import type { Database } from "../database/db.ts";
import { CHECKPOINT_TABLE, REBUILD_TABLE } from "../../services/ops.read-model.ts";

/** A read model an operator can rebuild: the action that rebuilds it and where it checkpoints. */
interface RebuildableReadModel {
  action: string;
  /** Row of the rebuild checkpoints (CHECKPOINT_TABLE) the rebuild keeps its progress in. */
  checkpointTarget: string;
}

export const rebuildableReadModels: Record<string, RebuildableReadModel> = {
  "ops-bookings": { action: "ops.rebuildReadModel", checkpointTarget: REBUILD_TABLE },
};

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

/** Progress of the latest rebuild of a read model, from its checkpoint; null when it never ran. */
export async function rebuildStatus(db: Database, name: string): Promise<RebuildStatus | null> {
  const row = await db(CHECKPOINT_TABLE).where({ target: rebuildableReadModels[name]!.checkpointTarget }).first();
  if (!row) return null;
  return {
    readModel: name,
    applied: row.applied,
    skipped: row.skipped,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
  };
}
