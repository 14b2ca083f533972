import type { JsMsg } from "@nats-io/jetstream";
import { MessageHeaders, type MessageKind, type Topology } from "../messaging/topology.ts";
import type { Logger } from "../observability/logger.ts";
import type { MirrorWrite } from "./mirror-script.ts";
import { encodeWatermillEntry } from "./watermill.ts";

/** What every write of one mirror shares: where its keys live and how the script treats entries. */
export interface EntrySettings {
  topology: Topology;
  /** Length of one marker window; a duplicate is recognised at least this long after its original. */
  dedupeWindowMs: number;
  maxLen: number;
  /** Entries older than this are trimmed by each write (0 ⇒ never). */
  maxAgeMs: number;
  logger: Logger;
}

/** Where one JetStream stream is mirrored from and to. */
export interface MirroredStream {
  kind: MessageKind;
  stream: string;
  cursorKey: string;
}

/** Message name from the header, else from the subject (`<ns.>events.<Name>`). */
function messageName(topology: Topology, kind: MessageKind, msg: JsMsg): string {
  const fromHeader = msg.headers?.get(MessageHeaders.name) ?? "";
  if (fromHeader) return fromHeader;
  const subjectPrefix = topology.subject(kind, "");
  return msg.subject.startsWith(subjectPrefix) ? msg.subject.slice(subjectPrefix.length) : "";
}

/**
 * The marker hashes a message is checked against: its own window's and the one before, by the time
 * JetStream stored it (so a re-mirror finds the same windows). One hash per window, not one key per
 * message, each expiring two windows after it was last written.
 */
function markerKeys(settings: EntrySettings, target: MirroredStream, msg: JsMsg): [string, string] {
  const window = Math.floor(Number(msg.info.timestampNanos) / 1e6 / settings.dedupeWindowMs);
  const prefix = `${settings.topology.redisInternalPrefix}mirror:${target.stream}:seen:`;
  return [`${prefix}${window}`, `${prefix}${window - 1}`];
}

/** Redis entry ids below this are trimmed: now minus the max age, in Redis' millisecond ids. */
const minId = (settings: EntrySettings) => (settings.maxAgeMs > 0 ? `${Date.now() - settings.maxAgeMs}-0` : "0");

/**
 * The script call that mirrors `msg` as a Watermill entry into every Redis stream of its name, if the
 * cursor still reads `expected`; a message without id or name only advances the cursor.
 */
export function mirrorWriteOf(settings: EntrySettings, target: MirroredStream, msg: JsMsg, expected: string): MirrorWrite {
  const { topology, logger } = settings;
  const header = (key: string) => msg.headers?.get(key) ?? "";
  const uuid = header(MessageHeaders.messageId);
  const name = messageName(topology, target.kind, msg);
  const markers = markerKeys(settings, target, msg);
  const markerTtlSeconds = String(Math.ceil((2 * settings.dedupeWindowMs) / 1000));
  const common = [String(msg.seq), expected, markerTtlSeconds, String(settings.maxLen)];
  if (!uuid || !name) {
    logger.error(
      { stream: target.stream, seq: msg.seq, subject: msg.subject, uuid, name },
      "redis mirror: message without id or name cannot be mirrored; skipping it",
    );
    return { seq: msg.seq, keys: [target.cursorKey, ...markers], args: [...common, "a"] };
  }
  const metadata: Record<string, string> = { name };
  for (const [field, key] of [
    ["correlation_id", MessageHeaders.correlationId],
    ["traceparent", MessageHeaders.traceparent],
    ["tracestate", MessageHeaders.tracestate],
  ] as const) {
    const value = header(key);
    if (value) metadata[field] = value;
  }
  const fields = encodeWatermillEntry({ uuid, payload: msg.data, metadata });
  return {
    seq: msg.seq,
    keys: [target.cursorKey, ...markers, ...topology.redisStreams(target.kind, name)],
    args: [...common, "w", minId(settings), uuid, ...fields],
  };
}
