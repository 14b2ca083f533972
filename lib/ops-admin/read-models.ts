/** Read models an operator can rebuild, and the action that rebuilds each. */
export const rebuildableReadModels: Record<string, string> = {
  "ops-bookings": "ops.rebuildReadModel",
};

/** A rebuild replays history: far longer than an ordinary request. */
export const REBUILD_TIMEOUT_MS = 15 * 60_000;
