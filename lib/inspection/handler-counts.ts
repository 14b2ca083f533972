import { messagesDeadLettered, messagesFailed, messagesProcessed } from "../observability/metrics.ts";

export interface HandlerCount {
  handler: string;
  topic: string;
  processed: number;
  failed: number;
  deadLettered: number;
}

/**
 * This process's handler counters (the original's `messages_processed_total` and friends), by handler
 * and topic. Each node process has its own, so asking one node shows the share of work it did.
 */
export async function handlerCounts(): Promise<HandlerCount[]> {
  const byKey = new Map<string, HandlerCount>();
  const add = async (metric: typeof messagesProcessed, field: "processed" | "failed" | "deadLettered") => {
    for (const { labels, value } of (await metric.get()).values) {
      const handler = String(labels.handler);
      const topic = String(labels.topic);
      const key = `${handler}\u0000${topic}`;
      const entry = byKey.get(key) ?? { handler, topic, processed: 0, failed: 0, deadLettered: 0 };
      entry[field] += value;
      byKey.set(key, entry);
    }
  };
  await add(messagesProcessed, "processed");
  await add(messagesFailed, "failed");
  await add(messagesDeadLettered, "deadLettered");
  return [...byKey.values()].sort((a, b) => a.handler.localeCompare(b.handler) || a.topic.localeCompare(b.topic));
}
