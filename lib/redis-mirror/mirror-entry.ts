import type { JsMsg } from "@nats-io/jetstream";
import { MessageHeaders, type MessageKind, type Topology } from "../messaging/topology.ts";
import type { Logger } from "../observability/logger.ts";
import type { MirrorWrite } from "./mirror-script.ts";
import { encodeWatermillEntry } from "./watermill.ts";

/** What every write of one mirror shares: where its keys live and how the script treats entries. */
export interface EntrySettings {
  topology: Topology;
  dedupeTtlSeconds: number;
  maxLen: number;
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
 * The script call that mirrors `msg` as a Watermill entry into every Redis stream of its name, if the
 * cursor still reads `expected`; a message without id or name only advances the cursor.
 */
export function mirrorWriteOf(settings: EntrySettings, target: MirroredStream, msg: JsMsg, expected: string): MirrorWrite {
  const { topology, logger } = settings;
  const header = (key: string) => msg.headers?.get(key) ?? "";
  const uuid = header(MessageHeaders.messageId);
  const name = messageName(topology, target.kind, msg);
  const markerPrefix = `${topology.redisInternalPrefix}mirror:seen:`;
  const common = [String(msg.seq), expected, String(settings.dedupeTtlSeconds), String(settings.maxLen)];
  if (!uuid || !name) {
    logger.error(
      { stream: target.stream, seq: msg.seq, subject: msg.subject, uuid, name },
      "redis mirror: message without id or name cannot be mirrored; skipping it",
    );
    return { seq: msg.seq, keys: [target.cursorKey, markerPrefix], args: [...common, "a"] };
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
    keys: [target.cursorKey, `${markerPrefix}${uuid}`, ...topology.redisStreams(target.kind, name)],
    args: [...common, "w", ...fields],
  };
}
