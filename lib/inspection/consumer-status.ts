import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import type { Database } from "../database/db.ts";
import { deadLetterCounts } from "../messaging/dead-letters.ts";
import type { Topology } from "../messaging/topology.ts";

export interface ConsumerStatus {
  stream: string;
  durable: string;
  filterSubject: string;
  /** Messages in the stream this durable has not been delivered yet. */
  pending: number;
  /** Delivered, not acknowledged yet: in flight on some node or waiting for a retry. */
  ackPending: number;
  /** Of those, how many were delivered more than once. */
  redelivered: number;
  /** Pull requests waiting: roughly how many node instances are idle on this durable. */
  waitingPulls: number;
  /** Dead letters stored for this handler. */
  deadLetters: number;
  /** Latest delivery or acknowledgement; null when the durable never saw a message. */
  lastActive: string | null;
}

/** nats-server sends `last_active` as an RFC 3339 time (the client's types say otherwise); the zero time means never. */
function lastActive(info: ConsumerInfo): string | null {
  const times = [info.delivered?.last_active, info.ack_floor?.last_active]
    .map((t) => (typeof t === "string" ? Date.parse(t) : NaN))
    .filter((t) => Number.isFinite(t) && t > 0);
  return times.length === 0 ? null : new Date(Math.max(...times)).toISOString();
}

export interface DurableConsumer {
  stream: string;
  durable: string;
  info: ConsumerInfo;
}

/** Every durable consumer of the namespace's EVENTS and COMMANDS streams, with the stream it reads. */
export async function durableConsumers(jsm: JetStreamManager, topology: Topology): Promise<DurableConsumer[]> {
  const found: DurableConsumer[] = [];
  for (const stream of Object.values(topology.streams)) {
    for await (const info of jsm.consumers.list(stream)) {
      if (info.config.durable_name) found.push({ stream, durable: info.config.durable_name, info });
    }
  }
  return found;
}

/** Every durable of this namespace's EVENTS and COMMANDS streams, with its dead-letter count. */
export async function consumerStatus(jsm: JetStreamManager, topology: Topology, db: Database): Promise<ConsumerStatus[]> {
  const deadLetters = await deadLetterCounts(db);
  const result: ConsumerStatus[] = (await durableConsumers(jsm, topology)).map(({ stream, durable, info }) => ({
    stream,
    durable,
    filterSubject: info.config.filter_subject ?? "",
    pending: info.num_pending,
    ackPending: info.num_ack_pending,
    redelivered: info.num_redelivered,
    waitingPulls: info.num_waiting,
    deadLetters: deadLetters.get(durable) ?? 0,
    lastActive: lastActive(info),
  }));
  return result.sort((a, b) => a.stream.localeCompare(b.stream) || a.durable.localeCompare(b.durable));
}
