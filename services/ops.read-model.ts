import type { Knex } from "knex";
import type { OpsBookingsQuery, OpsBookingView, OpsTicketView } from "../contracts/http.ts";
import {
  BookingMade_v1,
  contractsByName,
  TicketBookingCanceled_v1,
  TicketBookingConfirmed_v1,
  TicketPrinted_v1,
  TicketReceiptIssued_v1,
  TicketRefunded_v1,
  type MessageContract,
  type PayloadOf,
} from "../contracts/index.ts";
import { durableName } from "../lib/messaging/consumer.ts";
import { type Database, isLockConflict, type Transaction } from "../lib/database/db.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { keysetPage, positionOf } from "../lib/database/keyset.ts";
import { cutPage, type Page } from "../lib/http/pagination.ts";
import { errorMessage, PermanentError } from "../lib/errors.ts";
import type { Backbone } from "../lib/messaging/jetstream.ts";
import { silentLogger, type Logger } from "../lib/observability/logger.ts";
import type { Topology } from "../lib/messaging/topology.ts";

/**
 * The ops read model: one JSON document per booking, fed by events. Every update is
 * order-independent and idempotent: each time field keeps the earliest value any event gave it,
 * and its companion string (file name, receipt number, price…) travels with that time. So live
 * consumers, redeliveries and a replay of the data lake all converge on the same document.
 */

export const OPS_TABLE = "read_model_ops_bookings";
/** Go's zero time: what the UI reads as "not set". */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** An event that depends on one not applied yet (a ticket before its booking): retried, then dead-lettered. */
export class MissingInReadModel extends Error {
  override readonly name = "MissingInReadModel";
}

const emptyTicket = (): OpsTicketView => ({
  price_amount: "",
  price_currency: "",
  customer_email: "",
  confirmed_at: ZERO_TIME,
  refunded_at: ZERO_TIME,
  printed_at: ZERO_TIME,
  printed_file_name: "",
  receipt_issued_at: ZERO_TIME,
  receipt_number: "",
  canceled_at: ZERO_TIME,
});

type TimeField = "confirmed_at" | "refunded_at" | "printed_at" | "receipt_issued_at" | "canceled_at";

/** True when `candidate` should replace the stored time: nothing stored yet, or the candidate is earlier. */
function isEarlier(candidate: string, stored: string): boolean {
  if (stored === ZERO_TIME) return true;
  const a = Date.parse(candidate);
  const b = Date.parse(stored);
  return a < b || (a === b && candidate < stored);
}

/** True when `candidate` is a later time than the stored one (or nothing is stored). */
const isLater = (candidate: string, stored: string) => stored === ZERO_TIME || (candidate !== stored && !isEarlier(candidate, stored));

/** A stored document in the response shape: missing fields get their zero value, keys in the original's order. */
export function toView(payload: Partial<OpsBookingView>): OpsBookingView {
  const tickets: Record<string, OpsTicketView> = {};
  for (const [ticketId, ticket] of Object.entries(payload.tickets ?? {})) tickets[ticketId] = { ...emptyTicket(), ...ticket };
  return {
    booking_id: payload.booking_id ?? "",
    booked_at: payload.booked_at ?? ZERO_TIME,
    tickets,
    last_update: payload.last_update ?? ZERO_TIME,
  };
}

/** A booking's row, locked, with only what one ticket's update reads: not the whole document. */
interface LockedTicket {
  booking_id: string;
  /** The ticket as stored; null when the document does not hold it yet. */
  ticket: Partial<OpsTicketView> | null;
  last_update: string | null;
}

/** Ticket → booking, written with the ticket's confirmation (migration 039): a ticket event finds its booking by key. */
const TICKET_BOOKINGS = "ops_ticket_bookings";

const LOCKED_TICKET = "booking_id, payload->'tickets'->? AS ticket, payload->>'last_update' AS last_update";

/** The ticket in its booking's document, locked; the ticket → booking mapping is recorded in the same statement. */
async function lockTicketOfBooking(
  trx: Transaction,
  table: string,
  bookingId: string,
  ticketId: string,
): Promise<LockedTicket | undefined> {
  const result = await trx.raw(
    `WITH mapped AS (INSERT INTO ?? (ticket_id, booking_id) VALUES (?, ?) ON CONFLICT (ticket_id) DO NOTHING)
     SELECT ${LOCKED_TICKET} FROM ?? WHERE booking_id = ? FOR UPDATE`,
    [TICKET_BOOKINGS, ticketId, bookingId, ticketId, table, bookingId],
  );
  return result.rows[0];
}

/** The ticket in the document of the booking its confirmation named, locked. */
async function lockTicket(trx: Transaction, table: string, ticketId: string): Promise<LockedTicket | undefined> {
  const result = await trx.raw(
    `SELECT ${LOCKED_TICKET} FROM ?? WHERE booking_id = (SELECT booking_id FROM ?? WHERE ticket_id = ?) FOR UPDATE`,
    [ticketId, table, TICKET_BOOKINGS, ticketId],
  );
  return result.rows[0];
}

/** Tickets whose confirmation named no booking: no document will ever hold them (migration 021). */
const TICKETS_WITHOUT_BOOKING = "ops_tickets_without_booking";

async function isTicketWithoutBooking(trx: Transaction, ticketId: string): Promise<boolean> {
  return (await trx(TICKETS_WITHOUT_BOOKING).where("ticket_id", ticketId).first("ticket_id")) !== undefined;
}

/** A change of one ticket by one event, and that event's publication time. */
interface TicketChange {
  at: string;
  change: (ticket: OpsTicketView) => boolean;
}

/**
 * Writes the ticket back when the event changed something (a redelivery changes nothing and writes
 * nothing). `last_update` is the latest publication time of the events applied, not the time of the
 * write, so a replay of the data lake yields the same document, whatever the order. Only the ticket
 * travels: Postgres sets it into the document, so a booking of n tickets costs this process the
 * same per event as a booking of one.
 */
async function updateTicket(trx: Transaction, table: string, locked: LockedTicket, ticketId: string, update: TicketChange): Promise<void> {
  const stored = locked.ticket;
  const ticket: OpsTicketView = { ...emptyTicket(), ...stored };
  const changed = update.change(ticket);
  const later = isLater(update.at, locked.last_update ?? ZERO_TIME);
  if (!changed && !later) return;
  let payload = "payload";
  const bindings: string[] = [];
  if (changed) {
    payload = `jsonb_set(${payload}, ARRAY['tickets', ?], ?::jsonb)`;
    bindings.push(ticketId, JSON.stringify(ticket));
  }
  if (later) {
    payload = `jsonb_set(${payload}, '{last_update}', to_jsonb(?::text))`;
    bindings.push(update.at);
  }
  const receiptMoved = changed && ticket.receipt_issued_at !== (stored?.receipt_issued_at ?? ZERO_TIME);
  const receiptDates = receiptMoved ? RECEIPT_DATES_WITH_TICKET : "";
  if (receiptMoved) bindings.push(ticketId, ZERO_TIME, ticket.receipt_issued_at.slice(0, 10));
  await trx.raw(`UPDATE ?? SET payload = ${payload}${receiptDates} WHERE booking_id = ?`, [table, ...bindings, locked.booking_id]);
}

/** The UTC days of the other tickets' receipts and the day of this one's (bindings: ticket id, zero time, day). */
const RECEIPT_DATES_WITH_TICKET = `, receipt_dates = ARRAY(
  SELECT DISTINCT left(t.ticket->>'receipt_issued_at', 10)::date FROM jsonb_each(payload->'tickets') AS t(ticket_id, ticket)
  WHERE t.ticket_id <> ? AND t.ticket->>'receipt_issued_at' <> ? UNION SELECT ?::date)`;

/** Sets `field` (and its companions) to `value` when it is earlier than what the ticket holds; `at` is the event's time. */
function earliest(at: string, field: TimeField, value: string, companions: Partial<OpsTicketView> = {}): TicketChange {
  return {
    at,
    change(ticket) {
      if (!isEarlier(value, ticket[field])) return false;
      Object.assign(ticket, companions, { [field]: value });
      return true;
    },
  };
}

/** Applies a ticket event to the booking holding the ticket; skipped for a ticket of no booking, retried until its booking arrives otherwise. */
async function onTicketOfAnyBooking(trx: Transaction, table: string, ticketId: string, update: TicketChange) {
  const locked = await lockTicket(trx, table, ticketId);
  if (locked) return updateTicket(trx, table, locked, ticketId, update);
  if (await isTicketWithoutBooking(trx, ticketId)) return;
  throw new MissingInReadModel(`no booking in the read model holds ticket ${ticketId} yet`);
}

/** How each event changes the read model; the live handlers and the rebuild share these. */
export const applyToOpsReadModel = {
  async bookingMade(trx: Transaction, event: PayloadOf<typeof BookingMade_v1>, table = OPS_TABLE) {
    const booking: OpsBookingView = {
      booking_id: event.booking_id,
      booked_at: event.header.published_at,
      tickets: {},
      last_update: event.header.published_at,
    };
    await trx(table)
      .insert({ booking_id: event.booking_id, payload: JSON.stringify(booking), booked_at: booking.booked_at, show_id: event.show_id })
      .onConflict("booking_id")
      .ignore();
  },

  async ticketConfirmed(trx: Transaction, event: PayloadOf<typeof TicketBookingConfirmed_v1>, table = OPS_TABLE) {
    if (!event.booking_id) {
      // not part of any booking, so not of the ops report; remembered so its later events are skipped too
      await trx(TICKETS_WITHOUT_BOOKING).insert({ ticket_id: event.ticket_id }).onConflict("ticket_id").ignore();
      return;
    }
    const locked = await lockTicketOfBooking(trx, table, event.booking_id, event.ticket_id);
    if (!locked) throw new MissingInReadModel(`read model for booking ${event.booking_id} does not exist yet`);
    await updateTicket(
      trx,
      table,
      locked,
      event.ticket_id,
      earliest(event.header.published_at, "confirmed_at", event.header.published_at, {
        price_amount: event.price.amount,
        price_currency: event.price.currency,
        customer_email: event.customer_email,
      }),
    );
  },

  async ticketPrinted(trx: Transaction, event: PayloadOf<typeof TicketPrinted_v1>, table = OPS_TABLE) {
    await onTicketOfAnyBooking(
      trx,
      table,
      event.ticket_id,
      earliest(event.header.published_at, "printed_at", event.header.published_at, { printed_file_name: event.file_name }),
    );
  },

  /** The receipt's own time, not the event's (as the original did). */
  async ticketReceiptIssued(trx: Transaction, event: PayloadOf<typeof TicketReceiptIssued_v1>, table = OPS_TABLE) {
    await onTicketOfAnyBooking(
      trx,
      table,
      event.ticket_id,
      earliest(event.header.published_at, "receipt_issued_at", event.issued_at, { receipt_number: event.receipt_number }),
    );
  },

  async ticketRefunded(trx: Transaction, event: PayloadOf<typeof TicketRefunded_v1>, table = OPS_TABLE) {
    await onTicketOfAnyBooking(trx, table, event.ticket_id, earliest(event.header.published_at, "refunded_at", event.header.published_at));
  },

  async ticketCanceled(trx: Transaction, event: PayloadOf<typeof TicketBookingCanceled_v1>, table = OPS_TABLE) {
    await onTicketOfAnyBooking(trx, table, event.ticket_id, earliest(event.header.published_at, "canceled_at", event.header.published_at));
  },
};

/** The events the read model reads, by name: what a replay of the data lake applies. */
// biome-ignore lint/suspicious/noExplicitAny: each entry takes its own contract's payload, decoded by name just before
const replayed = new Map<string, (trx: Transaction, payload: any, table: string) => Promise<void>>([
  [BookingMade_v1.name, applyToOpsReadModel.bookingMade],
  [TicketBookingConfirmed_v1.name, applyToOpsReadModel.ticketConfirmed],
  [TicketPrinted_v1.name, applyToOpsReadModel.ticketPrinted],
  [TicketReceiptIssued_v1.name, applyToOpsReadModel.ticketReceiptIssued],
  [TicketRefunded_v1.name, applyToOpsReadModel.ticketRefunded],
  [TicketBookingCanceled_v1.name, applyToOpsReadModel.ticketCanceled],
]);

// ---- queries -------------------------------------------------------------------------------------

const byBookingTime = { time: "booked_at", id: "booking_id", timeType: "timestamptz", direction: "desc" } as const;

/** A stored row in the response shape, with the show it books. */
const bookingView = (row: { booking_id?: string; payload: Partial<OpsBookingView>; show_id: string | null }): OpsBookingView => ({
  ...toView(row.payload),
  ...(row.show_id ? { show_id: row.show_id } : {}),
});

/**
 * One page of bookings, newest first; with a date, only bookings with a ticket whose receipt was
 * issued that UTC day. Each filter and the order have an index (migration 030). A booking of many
 * tickets is large, so pages are cut by bytes as well (lib/http/pagination.ts).
 */
export async function listOpsBookings(db: Database, query: OpsBookingsQuery): Promise<Page<OpsBookingView>> {
  const select = db(OPS_TABLE).select("booking_id", "payload", "show_id");
  if (query.receipt_issue_date) select.whereRaw("receipt_dates @> ARRAY[?::date]", [query.receipt_issue_date]);
  if (query.show_id) select.where("show_id", query.show_id);
  const rows = await keysetPage(select, db, byBookingTime, query);
  return cutPage(rows, query.limit, bookingView, positionOf("booking_id"));
}

export async function getOpsBooking(db: Database, bookingId: string): Promise<OpsBookingView | undefined> {
  const row = await db(OPS_TABLE).select("payload", "show_id").where("booking_id", bookingId).first();
  return row ? bookingView(row) : undefined;
}

// ---- rebuild from the data lake --------------------------------------------------------------------

export const REBUILD_TABLE = `${OPS_TABLE}_rebuild`;
export const PREVIOUS_TABLE = `${OPS_TABLE}_previous`;
/** One row per rebuild target (migrations 020, 024): where a run stands, so it can resume. */
export const CHECKPOINT_TABLE = "ops_read_model_rebuilds";
/** The durable consumer of services/datalake.service.ts (StoreToDataLake). */
const DATA_LAKE_DURABLE = durableName("datalake", "StoreToDataLake");
/** Arbitrary constant naming the advisory lock a rebuild holds. */
const REBUILD_LOCK = 7_236_420;

export interface RebuildProgress {
  target: string;
  /** Lake rows of transactions below this id are replayed in lake order with a checkpoint; later ones at the end. */
  cutoff: string;
  applied: number;
  /** Events that could not apply (a ticket whose booking is not in the lake, a malformed payload); logged. */
  skipped: number;
  /** Lake position (inserting transaction, sequence) of the last event replayed. */
  position?: LakePosition;
  done: boolean;
  /** After a swap with `dataLake`: false when the lake did not catch up in time (events around the swap may be missing). */
  lakeCaughtUp?: boolean;
}

export interface RebuildOptions {
  logger?: Logger;
  /** Called after every committed batch and once at the end; a throw stops the run, which resumes later. */
  onProgress?: (progress: RebuildProgress) => void | Promise<void>;
  batchSize?: number;
  /** Replace the live read model with the rebuilt one (default). False leaves it in REBUILD_TABLE. */
  swap?: boolean;
  /** Start over even when an unfinished run left a checkpoint. */
  restart?: boolean;
  /**
   * How far the data lake has got (see jetStreamDataLake). With it, a swap closes the one gap a
   * replay has: events the live consumers applied before the swap that the lake had not stored yet.
   */
  dataLake?: DataLakeProgress;
}

/** The data lake's progress through the events stream. */
export interface DataLakeProgress {
  /** A mark covering every event published so far. */
  mark(): Promise<number>;
  /** Resolves once the lake stores every event up to `mark`; rejects when that takes too long. */
  reached(mark: number): Promise<void>;
}

/** A row's place in the lake's insertion order; xid8 values travel as text (they exceed 2^53). */
export interface LakePosition {
  tx: string;
  seq: number;
}

interface Checkpoint {
  cutoff_tx: string;
  last_tx: string | null;
  last_seq: number | null;
  /** Events put off until what they need is in the table (see `replay`). */
  deferred_event_ids: string[];
  applied: number;
  skipped: number;
  finished: boolean;
}

interface LakeEvent {
  event_id: string;
  tx: string;
  seq: number;
  event_name: string;
  event_payload: unknown;
}

/**
 * Replays the data lake (`events`, in its own insertion order: migration 033) into a fresh copy of
 * the read model, then (by default) swaps it in for the live one, keeping the old one as PREVIOUS_TABLE.
 *
 * Resumable: each batch commits with its checkpoint, so a run that stops (crash, onProgress throw)
 * continues where it stopped; a finished run or `restart` starts a fresh table. The ordered replay
 * covers the rows of transactions that had ended when the run started (below `cutoff`), which no
 * late commit can add to; the rows after it are applied at the end — under an exclusive lock of the live table when
 * swapping, so no live update lands between the final catch-up and the swap. An event the live
 * consumers applied just before the swap may not be in the lake yet; with `dataLake`, the swap
 * notes the stream's position, and once the lake has reached it (no lock held: blocked live
 * handlers would otherwise starve the lake's consumer of connections) the events after the cutoff
 * are applied again to the new live table — harmless, as every update is idempotent and
 * order-independent.
 */
export async function rebuildOpsReadModel(db: Database, options: RebuildOptions = {}): Promise<RebuildProgress> {
  // One run at a time, whichever node it starts on; the lock lives as long as this transaction.
  return db.transaction(async (guard) => {
    const { rows } = await guard.raw("SELECT pg_try_advisory_xact_lock(?) AS locked", [REBUILD_LOCK]);
    if (!rows[0].locked) throw new Error("an ops read model rebuild is already running");
    return rebuild(db, options);
  });
}

async function rebuild(db: Database, options: RebuildOptions): Promise<RebuildProgress> {
  const logger = options.logger ?? silentLogger;
  const batchSize = options.batchSize ?? 500;
  const swap = options.swap ?? true;

  let checkpoint = await readCheckpoint(db);
  if (!checkpoint || checkpoint.finished || options.restart) {
    checkpoint = await startFresh(db);
    logger.info({ target: REBUILD_TABLE, cutoff: checkpoint.cutoff_tx }, "ops read model rebuild started");
  } else {
    logger.info(
      { target: REBUILD_TABLE, applied: checkpoint.applied, skipped: checkpoint.skipped },
      "ops read model rebuild resumed from its checkpoint",
    );
  }

  for (;;) {
    const from: Checkpoint = checkpoint;
    const replayedCount = await db.transaction(async (trx) => {
      const events = await lakeEvents(trx, (query) => {
        query.whereRaw("tx < ?::xid8", [from.cutoff_tx]).limit(batchSize);
        if (from.last_tx) query.whereRaw("(tx, seq) > (?::xid8, ?::bigint)", [from.last_tx, from.last_seq]);
      });
      const last = events.at(-1);
      if (!last) return 0;
      const counts = await replay(trx, events, logger, REBUILD_TABLE, await deferredEvents(trx, from));
      await trx(CHECKPOINT_TABLE)
        .where("target", REBUILD_TABLE)
        .update({
          last_tx: last.tx,
          last_seq: last.seq,
          deferred_event_ids: counts.deferred.map((event) => event.event_id),
          applied: trx.raw("applied + ?", [counts.applied]),
          skipped: trx.raw("skipped + ?", [counts.skipped]),
        });
      return events.length;
    });
    if (replayedCount === 0) break;
    checkpoint = (await readCheckpoint(db))!;
    const progress = progressOf(checkpoint, false);
    logger.info(progress, "ops read model rebuild progress");
    await options.onProgress?.(progress);
    if (replayedCount < batchSize) break;
  }

  const cutoff = checkpoint.cutoff_tx;
  const afterCutoff = (query: Knex.QueryBuilder) => query.whereRaw("tx >= ?::xid8", [cutoff]);
  const lakeMark = await db.transaction(async (trx) => {
    let mark: number | undefined;
    if (swap) {
      await trx.raw("LOCK TABLE ?? IN ACCESS EXCLUSIVE MODE", [OPS_TABLE]);
      // Anything the live consumers applied committed before this lock, so it is in the stream by now.
      mark = await options.dataLake?.mark();
    }
    const counts = await replay(trx, await lakeEvents(trx, afterCutoff), logger, REBUILD_TABLE, await deferredEvents(trx, checkpoint));
    // what is still put off now never gets what it needs from the lake
    for (const event of counts.deferred) logSkipped(logger, event, "its booking or ticket is not in the data lake");
    if (swap) {
      await trx.raw("DROP TABLE IF EXISTS ??", [PREVIOUS_TABLE]);
      await trx.raw("ALTER TABLE ?? RENAME TO ??", [OPS_TABLE, PREVIOUS_TABLE]);
      await trx.raw("ALTER TABLE ?? RENAME TO ??", [REBUILD_TABLE, OPS_TABLE]);
    }
    await trx(CHECKPOINT_TABLE)
      .where("target", REBUILD_TABLE)
      .update({
        applied: trx.raw("applied + ?", [counts.applied]),
        skipped: trx.raw("skipped + ?", [counts.skipped + counts.deferred.length]),
        deferred_event_ids: [],
        finished_at: trx.fn.now(),
      });
    return mark;
  });
  const progress: RebuildProgress = { ...progressOf((await readCheckpoint(db))!, true), target: swap ? OPS_TABLE : REBUILD_TABLE };
  if (lakeMark !== undefined)
    progress.lakeCaughtUp = await reapplyWhatTheLakeCaughtUp(db, options.dataLake!, lakeMark, afterCutoff, logger);
  logger.info({ ...progress, swapped: swap }, "ops read model rebuild finished");
  await options.onProgress?.(progress);
  return progress;
}

async function readCheckpoint(db: Database | Transaction): Promise<Checkpoint | undefined> {
  return db(CHECKPOINT_TABLE)
    .select(
      db.raw("cutoff_tx::text AS cutoff_tx"),
      db.raw("last_tx::text AS last_tx"),
      "last_seq",
      db.raw("deferred_event_ids::text[] AS deferred_event_ids"),
      "applied",
      "skipped",
      db.raw("finished_at IS NOT NULL AS finished"),
    )
    .where("target", REBUILD_TABLE)
    .first();
}

async function startFresh(db: Database): Promise<Checkpoint> {
  await db.transaction(async (trx) => {
    await trx.raw("DROP TABLE IF EXISTS ??", [REBUILD_TABLE]);
    await trx.raw("CREATE TABLE ?? (LIKE ?? INCLUDING ALL)", [REBUILD_TABLE, OPS_TABLE]);
    await trx(CHECKPOINT_TABLE)
      .insert({
        target: REBUILD_TABLE,
        // the oldest transaction still running: every lake row below it has committed or never will
        cutoff_tx: trx.raw("pg_snapshot_xmin(pg_current_snapshot())"),
        last_tx: null,
        last_seq: null,
        deferred_event_ids: [],
        applied: 0,
        skipped: 0,
        started_at: trx.fn.now(),
        finished_at: null,
      })
      .onConflict("target")
      .merge();
  });
  return (await readCheckpoint(db))!;
}

/** After a swap: once the lake holds everything up to the swap, applies the events after the cutoff again, to the live table. */
async function reapplyWhatTheLakeCaughtUp(
  db: Database,
  lake: DataLakeProgress,
  mark: number,
  afterCutoff: (query: Knex.QueryBuilder) => void,
  logger: Logger,
): Promise<boolean> {
  try {
    await lake.reached(mark);
  } catch (error) {
    logger.error(
      { err: errorMessage(error) },
      "ops read model swapped, but the data lake did not catch up: events applied live just before the swap may be missing; run the rebuild again",
    );
    return false;
  }
  const { applied } = await db.transaction(async (trx) => replay(trx, await lakeEvents(trx, afterCutoff), logger, OPS_TABLE));
  logger.info({ reapplied: applied }, "ops read model: events around the swap applied again to the new live table");
  return true;
}

/** The data lake's progress as the stream sequence its durable consumer has acknowledged (stored) up to. */
export function jetStreamDataLake(backbone: Backbone, topology: Topology, { timeoutMs = 30_000, pollMs = 50 } = {}): DataLakeProgress {
  const stream = topology.streams.event;
  return {
    async mark() {
      return (await backbone.jsm.streams.info(stream)).state.last_seq;
    },
    async reached(mark) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { ack_floor } = await backbone.jsm.consumers.info(stream, DATA_LAKE_DURABLE);
        if (ack_floor.stream_seq >= mark) return;
        if (Date.now() > deadline) throw new Error(`the data lake is still behind the events stream (${ack_floor.stream_seq} < ${mark})`);
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
  };
}

/** Events of the data lake in replay order, narrowed by the caller. */
async function lakeEvents(trx: Transaction, narrow: (query: Knex.QueryBuilder) => void): Promise<LakeEvent[]> {
  const query = trx("events")
    .select("event_id", trx.raw("tx::text AS tx"), "seq", "event_name", "event_payload")
    .orderBy([{ column: "events.tx" }, { column: "events.seq" }]);
  narrow(query);
  return query;
}

/** Tries of one event that loses a lock conflict with live consumers before the replay gives up on it. */
const LOCK_CONFLICT_TRIES = 6;

/**
 * Applies events one by one; a failing event is rolled back to its savepoint, logged and skipped.
 * An event that lost a lock conflict (a live consumer's transaction holds its booking: a deadlock
 * victim, a lock timeout) is tried again after a pause, as skipping it would lose it from the table.
 * An event whose booking or ticket is not in the table yet (the lake stores events in the order its
 * batches commit, not the order they happened in) is put off: `deferred` and these are tried again
 * after the rest, as long as a pass applies one, and what is left is returned to be tried with the
 * next events.
 */
async function replay(
  trx: Transaction,
  events: LakeEvent[],
  logger: Logger,
  table: string,
  deferred: LakeEvent[] = [],
): Promise<{ applied: number; skipped: number; deferred: LakeEvent[] }> {
  const counts = { applied: 0, skipped: 0 };
  const applyAll = async (batch: LakeEvent[]): Promise<LakeEvent[]> => {
    const missing: LakeEvent[] = [];
    for (const event of batch) {
      const outcome = await applyOne(trx, event, logger, table);
      if (outcome === "missing") missing.push(event);
      else if (outcome !== "not replayed") counts[outcome]++;
    }
    return missing;
  };
  let waiting = [...deferred, ...(await applyAll(events))];
  for (let before = Number.POSITIVE_INFINITY; waiting.length > 0 && waiting.length < before; ) {
    before = waiting.length;
    waiting = await applyAll(waiting);
  }
  return { ...counts, deferred: waiting };
}

async function applyOne(
  trx: Transaction,
  event: LakeEvent,
  logger: Logger,
  table: string,
): Promise<"applied" | "skipped" | "missing" | "not replayed"> {
  const apply = replayed.get(event.event_name);
  if (!apply) return "not replayed";
  const contract = contractsByName.get(event.event_name) as MessageContract;
  const parsed = contract.schema.safeParse(event.event_payload);
  try {
    if (!parsed.success) throw new PermanentError(`payload breaks contract ${contract.name}`);
    for (let tries = 1; ; tries++) {
      try {
        await trx.transaction((savepoint) => apply(savepoint, parsed.data, table));
        return "applied";
      } catch (error) {
        if (!isLockConflict(error) || tries >= LOCK_CONFLICT_TRIES) throw error;
        await sleep(50 * 2 ** tries);
      }
    }
  } catch (error) {
    if (error instanceof MissingInReadModel) return "missing";
    logSkipped(logger, event, errorMessage(error));
    return "skipped";
  }
}

function logSkipped(logger: Logger, event: LakeEvent, reason: string): void {
  logger.warn({ event_id: event.event_id, event_name: event.event_name, err: reason }, "ops read model rebuild skipped an event");
}

/** The events a checkpoint put off, in the lake's order. */
async function deferredEvents(trx: Transaction, checkpoint: Checkpoint): Promise<LakeEvent[]> {
  if (checkpoint.deferred_event_ids.length === 0) return [];
  return lakeEvents(trx, (query) => query.whereIn("event_id", checkpoint.deferred_event_ids));
}

function progressOf(checkpoint: Checkpoint, done: boolean): RebuildProgress {
  return {
    target: REBUILD_TABLE,
    cutoff: checkpoint.cutoff_tx,
    applied: checkpoint.applied,
    skipped: checkpoint.skipped,
    position: checkpoint.last_tx ? { tx: checkpoint.last_tx, seq: checkpoint.last_seq! } : undefined,
    done,
  };
}
