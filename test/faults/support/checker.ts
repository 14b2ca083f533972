/**
 * The one checker of the fault tests. It matches, by message id, what Postgres accepted (outbox
 * rows, bookings, tickets, inbox markers in processed_messages, dead letters), what JetStream
 * holds, what the Redis mirror wrote and what the gateway simulator did, and lists every
 * violation of:
 * - zero lost messages: every accepted request has its outbox rows; every outbox row is published,
 *   in JetStream, mirrored to Redis and (events) in the data lake;
 * - zero duplicate effects: each message once in JetStream (unless the test allows JetStream
 *   duplicates, i.e. a relay outage longer than the duplicate window) and once in each Redis
 *   stream; per ticket one receipt, one tracker row, one file, one TicketPrinted_v1 and one
 *   TicketReceiptIssued_v1 and the handlers' inbox markers; per booking one Dead Nation booking
 *   and its marker;
 * - no oversell: per show, booked ≤ capacity and booked = the sum of its bookings.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import type { Database } from "../../../lib/database/db.ts";
import type { GatewaySimulator } from "../../../adapters/simulator/index.ts";
import { MessageHeaders, type MessageKind, type Topology } from "../../../lib/messaging/topology.ts";

export interface CheckInput {
  db: Database;
  nats: NatsConnection;
  redisUrl: string;
  topology: Topology;
  sim: GatewaySimulator;
  /** What clients were told succeeded (2xx). */
  accepted?: { tickets?: Iterable<string>; bookings?: Iterable<string> };
  /** JetStream may hold a message twice (relay down past the duplicate window); effects still once. */
  allowJetStreamDuplicates?: boolean;
  /**
   * Postgres was crashed in this interval. Dead Nation takes no idempotency key: a booking whose call
   * went out before the crash while its commit was lost is never sent again but parked in the dead
   * letters for an operator ("may already be at Dead Nation"). Such a letter is counted, not
   * flagged, when the booking reached Dead Nation at most once and not after the crash ended; a
   * second copy is always a problem.
   */
  postgresCrash?: { from: Date; to: Date };
  /** Messages the test published to JetStream itself (a poison message), not through the outbox. */
  foreignMessageIds?: string[];
  /**
   * The mirror trims Redis entries older than this (REDIS_MIRROR_MAX_AGE_MS): a message published
   * before then may be gone from Redis and is not missing; every later one must be there, once.
   */
  redisRetentionMs?: number;
  /** Dead letters the scenario expects, by handler durable and message id; any other is a problem. */
  expectedDeadLetters?: { handler: string; message_id: string }[];
}

export interface CheckReport {
  problems: string[];
  counts: {
    outboxRows: number;
    jetStreamMessages: number;
    jetStreamDuplicates: number;
    redisEntries: number;
    confirmedTickets: number;
    bookings: number;
    receipts: number;
    deadLetters: number;
    /** Dead Nation bookings parked for an operator because Postgres crashed between the call and its commit. */
    deadNationInDoubt: number;
  };
}

interface OutboxRow {
  message_id: string;
  kind: MessageKind;
  name: string;
  payload: string;
  published_at: Date | null;
}

function tally<T>(values: Iterable<T>): Map<T, number> {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

const DEAD_NATION_HANDLER = "bookings-BookPlaceInDeadNation";

/**
 * Bookings the Dead Nation handler parked for an operator because a Postgres crash left an attempt
 * in doubt (booking id → the letter's message id): at most one copy reached Dead Nation, none after
 * the crash ended. Outside a crash there are none.
 */
async function parkedInDoubt(
  db: Database,
  crash: { from: Date; to: Date } | undefined,
  deadNationCalls: { booking_id: string; received_at: string }[],
): Promise<Map<string, string>> {
  const parked = new Map<string, string>();
  if (!crash) return parked;
  const letters: { message_id: string; payload: string; error: string }[] = await db("dead_letters")
    .where({ handler: DEAD_NATION_HANDLER })
    .select("message_id", "payload", "error");
  for (const letter of letters) {
    if (!/may already be at Dead Nation/.test(letter.error)) continue;
    const bookingId = String(JSON.parse(letter.payload).booking_id);
    const copies = deadNationCalls.filter((call) => call.booking_id === bookingId).map((call) => Date.parse(call.received_at));
    if (copies.length <= 1 && copies.every((at) => at <= crash.to.getTime())) parked.set(bookingId, letter.message_id);
  }
  return parked;
}

/** Adds "<what>: n (e.g. a, b, c)" when `ids` is not empty. */
function flag(problems: string[], what: string, ids: string[]): void {
  if (ids.length > 0) problems.push(`${what}: ${ids.length} (e.g. ${ids.slice(0, 3).join(", ")})`);
}

async function jetStreamIds(nats: NatsConnection, stream: string): Promise<string[]> {
  const jsm = await jetstreamManager(nats);
  const info = await jsm.streams.info(stream).catch(() => null);
  if (!info || info.state.messages === 0) return [];
  const consumer = await jetstream(nats).consumers.get(stream, { opt_start_seq: info.state.first_seq });
  const ids: string[] = [];
  let last = 0;
  while (last < info.state.last_seq) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
    let got = 0;
    for await (const msg of batch) {
      got++;
      ids.push(msg.headers?.get(MessageHeaders.messageId) ?? `no-id:${msg.seq}`);
      last = msg.seq;
      if (last >= info.state.last_seq) break;
    }
    if (got === 0) break;
  }
  await consumer.delete().catch(() => undefined);
  return ids;
}

async function redisIds(redis: Redis, key: string): Promise<string[]> {
  const entries = await redis.xrange(key, "-", "+");
  return entries.map(([, fields]) => fields[fields.indexOf("_watermill_message_uuid") + 1]!);
}

export async function checkDelivery(input: CheckInput): Promise<CheckReport> {
  const { db, topology, sim } = input;
  const problems: string[] = [];
  const checkStarted = Date.now();
  const outbox: OutboxRow[] = await db("outbox").select("message_id", "kind", "name", "payload", "published_at").orderBy("seq");
  const payloads = outbox.map((row) => ({ ...row, body: JSON.parse(row.payload) }));
  const byName = (name: string) => payloads.filter((row) => row.name === name);

  // Accepted requests → outbox rows.
  const confirmedTickets = new Set(byName("TicketBookingConfirmed_v1").map((row) => String(row.body.ticket_id).toLowerCase()));
  const bookingRows = byName("BookingMade_v1");
  const madeBookings = new Set(bookingRows.map((row) => row.body.booking_id as string));
  flag(
    problems,
    "lost: accepted tickets without a TicketBookingConfirmed_v1 outbox row",
    [...(input.accepted?.tickets ?? [])].filter((id) => !confirmedTickets.has(id.toLowerCase())),
  );
  flag(
    problems,
    "lost: accepted bookings without a BookingMade_v1 outbox row",
    [...(input.accepted?.bookings ?? [])].filter((id) => !madeBookings.has(id)),
  );

  // Outbox → JetStream.
  flag(
    problems,
    "lost: outbox rows never marked published",
    outbox.filter((row) => row.published_at === null).map((row) => row.message_id),
  );
  const inJetStream = tally([
    ...(await jetStreamIds(input.nats, topology.streams.event)),
    ...(await jetStreamIds(input.nats, topology.streams.command)),
  ]);
  flag(
    problems,
    "lost: outbox rows not in JetStream",
    outbox.filter((row) => !inJetStream.has(row.message_id)).map((row) => row.message_id),
  );
  const jetStreamDuplicates = [...inJetStream].filter(([, n]) => n > 1).map(([id]) => id);
  if (!input.allowJetStreamDuplicates) flag(problems, "duplicate: messages stored twice in JetStream", jetStreamDuplicates);
  const outboxIds = new Set([...outbox.map((row) => row.message_id), ...(input.foreignMessageIds ?? [])]);
  flag(
    problems,
    "JetStream messages that no outbox row explains",
    [...inJetStream.keys()].filter((id) => !outboxIds.has(id)),
  );

  // JetStream → Redis mirror: every message once in each Redis stream it belongs to.
  const redis = new Redis(input.redisUrl, { maxRetriesPerRequest: 1 });
  let redisEntries = 0;
  try {
    const keys = new Set(outbox.flatMap((row) => topology.redisStreams(row.kind, row.name)));
    const perKey = new Map<string, Map<string, number>>();
    for (const key of keys) {
      const ids = await redisIds(redis, key);
      redisEntries += ids.length;
      perKey.set(key, tally(ids));
    }
    const missing: string[] = [];
    const doubled: string[] = [];
    // a minute's margin: the trim may run between this cut and the reads above
    const trimmedBefore = input.redisRetentionMs ? checkStarted - input.redisRetentionMs + 60_000 : 0;
    for (const row of outbox) {
      if (row.published_at && row.published_at.getTime() < trimmedBefore) continue;
      for (const key of topology.redisStreams(row.kind, row.name)) {
        const n = perKey.get(key)?.get(row.message_id) ?? 0;
        if (n === 0) missing.push(`${row.message_id}@${key}`);
        if (n > 1) doubled.push(`${row.message_id}@${key}`);
      }
    }
    flag(problems, "lost: messages missing from the Redis mirror", missing);
    flag(problems, "duplicate: messages mirrored to Redis more than once", doubled);
  } finally {
    redis.disconnect();
  }

  // Events → data lake (keyed by header id).
  const lake = new Set((await db("events").select("event_id")).map((row: { event_id: string }) => row.event_id));
  flag(
    problems,
    "lost: events missing from the data lake",
    payloads.filter((row) => row.kind === "event" && !lake.has(row.body.header.id)).map((row) => row.body.header.id),
  );

  // Ticket effects: exactly once per confirmed ticket.
  const stored = new Set(
    (await db("tickets").whereNull("deleted_at").select("ticket_id")).map((row: { ticket_id: string }) => row.ticket_id.toLowerCase()),
  );
  const receipts = tally([...sim.state.receipts.values()].map((r) => r.ticket_id.toLowerCase()));
  const trackerRows = tally((sim.state.sheets.get("tickets-to-print") ?? []).map((row) => row[0]!.toLowerCase()));
  const files = new Set([...sim.state.files.keys()].map((id) => id.replace(/-ticket\.html$/, "").toLowerCase()));
  const printed = tally(byName("TicketPrinted_v1").map((row) => String(row.body.ticket_id).toLowerCase()));
  const receiptEvents = tally(byName("TicketReceiptIssued_v1").map((row) => String(row.body.ticket_id).toLowerCase()));
  const once = (what: string, counts: Map<string, number>) => {
    const tickets = [...confirmedTickets];
    flag(
      problems,
      `lost: confirmed tickets without ${what}`,
      tickets.filter((id) => !counts.get(id)),
    );
    flag(
      problems,
      `duplicate: confirmed tickets with more than one ${what}`,
      tickets.filter((id) => (counts.get(id) ?? 0) > 1),
    );
  };
  flag(
    problems,
    "lost: confirmed tickets not stored",
    [...confirmedTickets].filter((id) => !stored.has(id)),
  );
  once("receipt at the gateway", receipts);
  once("tickets-to-print row", trackerRows);
  once("TicketPrinted_v1", printed);
  once("TicketReceiptIssued_v1", receiptEvents);
  flag(
    problems,
    "lost: confirmed tickets without a printed file",
    [...confirmedTickets].filter((id) => !files.has(id)),
  );

  const inDoubt = await parkedInDoubt(db, input.postgresCrash, sim.state.deadNationBookings);

  // Inbox markers: each once-per-ticket / once-per-booking handler recorded what it did, in the same
  // transaction as its effect, so a later redelivery is skipped.
  const markers = new Set(
    (await db("processed_messages").select("handler", "key")).map((row: { handler: string; key: string }) => `${row.handler}/${row.key}`),
  );
  for (const handler of ["tickets-AppendToTracker", "tickets-PrintTicket", "tickets-IssueReceipt"]) {
    flag(
      problems,
      `lost: confirmed tickets without a ${handler} inbox marker`,
      [...confirmedTickets].filter((id) => !markers.has(`${handler}/${id}`)),
    );
  }
  flag(
    problems,
    "lost: bookings without a bookings-BookPlaceInDeadNation inbox marker",
    [...madeBookings].filter((id) => !markers.has(`bookings-BookPlaceInDeadNation/${id}`) && !inDoubt.has(id)),
  );

  // Booking effects: one Dead Nation booking per booking made, or one parked in doubt by a crash; seats never oversold.
  const deadNation = tally(sim.state.deadNationBookings.map((b) => b.booking_id));
  flag(
    problems,
    "lost: bookings never sent to Dead Nation",
    [...madeBookings].filter((id) => !deadNation.has(id) && !inDoubt.has(id)),
  );
  flag(
    problems,
    "duplicate: bookings sent to Dead Nation more than once",
    [...deadNation].filter(([, n]) => n > 1).map(([id]) => id),
  );
  const bookingsTable = new Set((await db("bookings").select("booking_id")).map((row: { booking_id: string }) => row.booking_id));
  flag(
    problems,
    "lost: BookingMade_v1 without a bookings row",
    [...madeBookings].filter((id) => !bookingsTable.has(id)),
  );
  const seats = await db.raw(`
    SELECT s.show_id, s.number_of_tickets, s.booked, COALESCE(SUM(b.number_of_tickets), 0)::int AS sold
    FROM shows s LEFT JOIN bookings b ON b.show_id = s.show_id
    GROUP BY s.show_id, s.number_of_tickets, s.booked`);
  flag(
    problems,
    "oversold: shows with more seats booked than they have",
    seats.rows.filter((s: any) => s.booked > s.number_of_tickets || s.sold > s.number_of_tickets).map((s: any) => s.show_id),
  );
  flag(
    problems,
    "inconsistent: shows whose booked count differs from their bookings",
    seats.rows.filter((s: any) => s.booked !== s.sold).map((s: any) => s.show_id),
  );

  // Dead letters: only the expected ones.
  const letters: { handler: string; message_id: string; error: string }[] = await db("dead_letters").select(
    "handler",
    "message_id",
    "error",
  );
  const expected = new Set([
    ...(input.expectedDeadLetters ?? []).map((l) => `${l.handler}/${l.message_id}`),
    ...[...inDoubt.values()].map((messageId) => `${DEAD_NATION_HANDLER}/${messageId}`),
  ]);
  flag(
    problems,
    "unexpected dead letters",
    letters.filter((l) => !expected.has(`${l.handler}/${l.message_id}`)).map((l) => `${l.handler}/${l.message_id}: ${l.error}`),
  );

  return {
    problems,
    counts: {
      outboxRows: outbox.length,
      jetStreamMessages: [...inJetStream.values()].reduce((a, b) => a + b, 0),
      jetStreamDuplicates: jetStreamDuplicates.length,
      redisEntries,
      confirmedTickets: confirmedTickets.size,
      bookings: madeBookings.size,
      receipts: sim.state.receipts.size,
      deadLetters: letters.length,
      deadNationInDoubt: inDoubt.size,
    },
  };
}

/**
 * Checks until nothing is missing (messages still in flight count as missing) or `timeoutMs`
 * passes, then waits `settleMs` for would-be duplicates to show and returns the final report.
 */
export async function waitForConsistency(input: CheckInput, { timeoutMs = 90_000, settleMs = 2_000 } = {}): Promise<CheckReport> {
  const deadline = Date.now() + timeoutMs;
  let report = await checkDelivery(input);
  while (report.problems.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    report = await checkDelivery(input);
  }
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return checkDelivery(input);
}
