import { setTimeout as sleep } from "node:timers/promises";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  JetStreamApiError,
} from "@nats-io/jetstream";
import type { MessageKind, Topology } from "./topology.ts";

export interface NatsAuth {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * Splits `NATS_URL` (comma-separated servers, credentials as `user:pass@` or `token@`) into the
 * options both NATS clients take, so credentials work for every connection the system opens.
 */
export function parseNatsUrl(natsUrl: string): NatsAuth {
  const auth: NatsAuth = { servers: [] };
  for (const entry of natsUrl
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const url = new URL(entry.includes("://") ? entry : `nats://${entry}`);
    if (url.username && url.password) {
      auth.user = decodeURIComponent(url.username);
      auth.pass = decodeURIComponent(url.password);
    } else if (url.username) {
      auth.token = decodeURIComponent(url.username);
    }
    auth.servers.push(`${url.hostname}:${url.port || "4222"}`);
  }
  return auth;
}

export async function connectNats(natsUrl: string, name: string): Promise<NatsConnection> {
  const { servers, user, pass, token } = parseNatsUrl(natsUrl);
  return connect({ servers, user, pass, token, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}

export interface Backbone {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function openBackbone(nc: NatsConnection): Promise<Backbone> {
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

export interface StreamSettings {
  replicas: number;
  duplicateWindowMs: number;
  /** The inbox retention and the Redis mirror's trim are set against it (config/index.ts). */
  maxAgeMs: number;
}

/** Creates the EVENTS and COMMANDS streams, or brings an existing one to these settings. */
export async function ensureStreams(jsm: JetStreamManager, topology: Topology, settings: StreamSettings): Promise<void> {
  for (const kind of ["event", "command"] as MessageKind[]) {
    const config = {
      name: topology.streams[kind],
      subjects: [topology.streamSubjects(kind)],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: settings.replicas,
      duplicate_window: nanos(settings.duplicateWindowMs),
      max_age: nanos(settings.maxAgeMs),
    };
    const existing = await jsm.streams.info(config.name).catch(() => null);
    if (existing) {
      const { storage: _immutable, ...updatable } = config;
      await jsm.streams.update(config.name, { ...existing.config, ...updatable });
    } else {
      await addStream(jsm, config);
    }
  }
}

const STREAM_CREATE_TRIES = 5;
/** nats-server's JSStreamStoreFailedF, "error creating store for stream". */
const STREAM_STORE_FAILED = 10_077;

/**
 * Creates a stream, trying again after a short pause when the server fails to make its store: a
 * nats-server that removes its account's empty store directory while another stream is created
 * refuses that create once (its log: "could not create storage directory", seen in CI while
 * parallel test files created and deleted streams).
 */
async function addStream(jsm: JetStreamManager, config: Parameters<JetStreamManager["streams"]["add"]>[0]): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      await jsm.streams.add(config);
      return;
    } catch (error) {
      const storeFailed = error instanceof JetStreamApiError && error.code === STREAM_STORE_FAILED;
      if (!storeFailed || tries >= STREAM_CREATE_TRIES) throw error;
      await sleep(100 * tries);
    }
  }
}
