/**
 * Names of every stream, subject and Redis key the messaging uses, derived from one namespace.
 * Production runs with the empty namespace, which yields exactly the original's names (`events`,
 * `events.<Name>`, `commands.<Name>`); tests pass their own namespace so they never share a stream.
 */
import type { MessageKind } from "../../contracts/common.ts";

export type { MessageKind };

export interface Topology {
  readonly namespace: string;
  /** JetStream stream names. */
  readonly streams: { readonly event: string; readonly command: string };
  /** JetStream subject of one message name, e.g. `events.TicketPrinted_v1`. */
  subject(kind: MessageKind, name: string): string;
  /** Wildcard subject a stream captures, e.g. `events.>`. */
  streamSubjects(kind: MessageKind): string;
  /** Redis Streams keys an entry is mirrored to: `events` + `events.<Name>`, or `commands.<Name>`. */
  redisStreams(kind: MessageKind, name: string): string[];
  /** Prefix for Redis keys the system keeps for itself (mirror cursor, dedupe markers). */
  readonly redisInternalPrefix: string;
}

const topicRoot: Record<MessageKind, string> = { event: "events", command: "commands" };

export function createTopology(namespace = ""): Topology {
  if (namespace && !/^[A-Za-z0-9_-]+$/.test(namespace)) {
    throw new Error(`namespace must match [A-Za-z0-9_-]+, got "${namespace}"`);
  }
  const subjectPrefix = namespace ? `${namespace}.` : "";
  const streamPrefix = namespace ? `${namespace.toUpperCase()}_` : "";
  return {
    namespace,
    streams: { event: `${streamPrefix}EVENTS`, command: `${streamPrefix}COMMANDS` },
    subject: (kind, name) => `${subjectPrefix}${topicRoot[kind]}.${name}`,
    streamSubjects: (kind) => `${subjectPrefix}${topicRoot[kind]}.>`,
    redisStreams: (kind, name) =>
      kind === "event" ? [`${subjectPrefix}events`, `${subjectPrefix}events.${name}`] : [`${subjectPrefix}commands.${name}`],
    redisInternalPrefix: `${subjectPrefix}tickets:`,
  };
}

/** NATS headers every relayed message carries; the metadata of the Watermill entry is built from them. */
export const MessageHeaders = {
  messageId: "Nats-Msg-Id",
  name: "Tickets-Message-Name",
  correlationId: "Correlation-ID",
  traceparent: "traceparent",
  tracestate: "tracestate",
} as const;
