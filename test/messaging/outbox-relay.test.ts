import test from "ava";
import { randomUUID } from "node:crypto";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { TicketPrinted_v1 } from "../../contracts/index.ts";
import { createDatabase, migrateToLatest, type Database } from "../../lib/database/db.ts";
import { connectNats, ensureStreams, openBackbone, type Backbone } from "../../lib/messaging/jetstream.ts";
import { silentLogger } from "../../lib/observability/logger.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import { OutboxRelay } from "../../lib/messaging/relay.ts";
import { createTopology, type Topology } from "../../lib/messaging/topology.ts";
import { infrastructure } from "../support/infrastructure.ts";
import { createTestDatabase, eventually, removeNamespace, settle, uniqueName } from "../support/system.ts";
import { proxiedPostgres } from "../support/tcp-proxy.ts";

interface Fixture {
  db: Database;
  url: string;
  nc: NatsConnection;
  backbone: Backbone;
  jsm: JetStreamManager;
  topology: Topology;
  cleanup(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const { natsUrl } = await infrastructure();
  const database = await createTestDatabase();
  const db = createDatabase(database.url, { max: 10 });
  await migrateToLatest(db);
  const namespace = uniqueName("t");
  const topology = createTopology(namespace);
  const nc = await connectNats(natsUrl, "relay-test");
  const backbone = await openBackbone(nc);
  await ensureStreams(backbone.jsm, topology, { replicas: 1, duplicateWindowMs: 120_000, maxAgeMs: 3_600_000 });
  return {
    db,
    url: database.url,
    nc,
    backbone,
    jsm: await jetstreamManager(nc),
    topology,
    async cleanup() {
      await db.destroy();
      await nc.close();
      await removeNamespace(namespace);
      await database.drop();
    },
  };
}

const relayOptions = (f: Fixture) => ({
  db: f.db,
  js: f.backbone.js,
  postgresUrl: f.url,
  logger: silentLogger,
  batchSize: 100,
  pollMs: 50,
});
const relayOf = (f: Fixture) => new OutboxRelay(relayOptions(f));

const printed = () => ({ contract: TicketPrinted_v1, body: { ticket_id: randomUUID(), file_name: "x-ticket.html" } });

async function streamMessageIds(f: Fixture): Promise<string[]> {
  const info = await f.jsm.streams.info(f.topology.streams.event);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const message = await f.jsm.streams.getMessage(f.topology.streams.event, { seq });
    if (message) ids.push(message.header.get("Nats-Msg-Id"));
  }
  return ids;
}

test("a transaction that commits after a later one is still relayed", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const relay = relayOf(f);

  const slow = await f.db.transaction();
  const early = await writeToOutbox(slow, f.topology, printed()); // lower seq, still uncommitted
  const late = await f.db.transaction((trx) => writeToOutbox(trx, f.topology, printed()));
  t.is(await relay.drain(), 1);
  await slow.commit();
  t.is(await relay.drain(), 1);

  t.deepEqual((await streamMessageIds(f)).sort(), [early.messageId, late.messageId].sort());
  const pending = await f.db("outbox").whereNull("published_at").count({ n: "*" });
  t.is(Number(pending[0]!.n), 0);
});

test("two relays on one outbox publish every row exactly once", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const total = 1500;
  await f.db.transaction(async (trx) => {
    for (let i = 0; i < total; i++) await writeToOutbox(trx, f.topology, printed());
  });
  const [a, b] = [relayOf(f), relayOf(f)];
  const [fromA, fromB] = await Promise.all([a.drain(), b.drain()]);

  t.is(fromA + fromB, total, "each row was claimed and published by exactly one relay");
  t.true(fromA > 0 && fromB > 0, `both relays took a share (${fromA} / ${fromB})`);
  const ids = await streamMessageIds(f);
  t.is(ids.length, total);
  t.is(new Set(ids).size, total);
});

test("a relay that published but died before marking republishes without a duplicate in JetStream", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const written = await f.db.transaction(async (trx) => {
    const rows = [];
    for (let i = 0; i < 3; i++) rows.push(await writeToOutbox(trx, f.topology, printed()));
    return rows;
  });

  // What the dead relay managed: every row published with its Nats-Msg-Id, none marked.
  const rows = await f.db("outbox").select("message_id", "subject", "payload", "name").orderBy("seq");
  for (const row of rows) {
    const h = natsHeaders();
    h.set("Tickets-Message-Name", row.name);
    await f.backbone.js.publish(row.subject, row.payload, { msgID: row.message_id, headers: h });
  }

  t.is(await relayOf(f).drain(), 3, "the rows are relayed again, since they were never marked");
  const ids = await streamMessageIds(f);
  t.deepEqual(ids.sort(), written.map((w) => w.messageId).sort(), "JetStream kept one copy of each");
});

test("a row JetStream refuses stays pending with its error while the rest of its batch is published", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const written = await f.db.transaction(async (trx) => [
    await writeToOutbox(trx, f.topology, printed()),
    await writeToOutbox(trx, f.topology, printed()),
  ]);
  // no stream listens on this subject, so JetStream answers the publish with an error
  const refused = written[0]!.messageId;
  await f
    .db("outbox")
    .where({ message_id: refused })
    .update({ subject: `${uniqueName("nostream")}.TicketPrinted_v1` });

  t.is(await relayOf(f).drain(), 1);
  const rows = await f.db("outbox").select("message_id", "published_at", "attempts", "last_error").orderBy("seq");
  t.is(rows[0]!.message_id, refused);
  t.is(rows[0]!.published_at, null, "the refused row is still pending");
  t.is(rows[0]!.attempts, 1);
  t.truthy(rows[0]!.last_error);
  t.not(rows[1]!.published_at, null);
  t.deepEqual(await streamMessageIds(f), [written[1]!.messageId]);
});

test("a relay wakes on NOTIFY and publishes a committed row without waiting for its poll", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const relay = new OutboxRelay({
    db: f.db,
    js: f.backbone.js,
    postgresUrl: f.url,
    logger: silentLogger,
    batchSize: 100,
    pollMs: 60_000,
  });
  await relay.start();
  t.teardown(() => relay.stop());
  await new Promise((resolve) => setTimeout(resolve, 200)); // the first (empty) drain is done; the next poll is a minute away
  const { messageId } = await f.db.transaction((trx) => writeToOutbox(trx, f.topology, printed()));
  const deadline = Date.now() + 10_000;
  while (!(await streamMessageIds(f)).includes(messageId)) {
    if (Date.now() > deadline) return t.fail("row not relayed although NOTIFY fired");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.pass();
});

test("a NOTIFY that comes while the relay waits for its last batch to commit is not lost: rows written one after another are each relayed without a poll", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const relay = new OutboxRelay({ ...relayOptions(f), pollMs: 60_000 });
  await relay.start();
  t.teardown(() => relay.stop());
  // core NATS sees a message as JetStream stores it, before the relay's batch commits: the next row
  // is written straight away, so its NOTIFY lands while the relay is still finishing that batch
  const seen = f.nc.subscribe(`${f.topology.namespace}.>`);
  t.teardown(() => seen.unsubscribe());
  await f.nc.flush();
  const arrivals = seen[Symbol.asyncIterator]();
  for (let row = 0; row < 200; row++) {
    const { messageId } = await f.db.transaction((trx) => writeToOutbox(trx, f.topology, printed()));
    const next = await Promise.race([arrivals.next(), settle(5_000).then(() => undefined)]);
    if (!next || next.done) return t.fail(`row ${row} waited for the poll although its NOTIFY fired`);
    t.is(next.value.headers?.get("Nats-Msg-Id"), messageId);
  }
});

test("a relay whose LISTEN connection is cut gets it back every time, however long Postgres stays away, and wakes on NOTIFY again", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  const { proxy, url: viaProxy } = await proxiedPostgres(f.url);
  t.teardown(() => proxy.close());
  // only the LISTEN connection goes through the proxy; the next poll is a minute away
  const relay = new OutboxRelay({ ...relayOptions(f), postgresUrl: viaProxy, pollMs: 60_000 });
  await relay.start();
  t.teardown(() => relay.stop());
  const listening = async () =>
    (
      await f.db.raw(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tickets-relay' AND query = 'LISTEN outbox'",
      )
    ).rows.length === 1;

  for (let outage = 1; outage <= 2; outage++) {
    await proxy.cut();
    await eventually(async () => !(await listening()));
    await settle(1_500); // the outage lasts through several reconnect attempts
    await proxy.restore();
    await eventually(listening);
    const { messageId } = await f.db.transaction((trx) => writeToOutbox(trx, f.topology, printed()));
    await eventually(async () => (await streamMessageIds(f)).includes(messageId));
  }
  t.pass();
});

test("nothing malformed reaches the outbox: a payload breaking its contract throws inside the transaction", async (t) => {
  const f = await fixture();
  t.teardown(() => f.cleanup());
  await t.throwsAsync(
    f.db.transaction((trx) =>
      writeToOutbox(trx, f.topology, { contract: TicketPrinted_v1, body: { ticket_id: "not-a-uuid", file_name: "" } }),
    ),
  );
  const rows = await f.db("outbox").count({ n: "*" });
  t.is(Number(rows[0]!.n), 0);
});
