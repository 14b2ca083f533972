/**
 * The ops read model's cost per ticket event against the size of the booking and of the read model:
 * a ticket's print and receipt applied to a booking of 10 tickets and to one of BENCH_BIG_BOOKING
 * tickets, among BENCH_BOOKINGS other bookings, in one database of its own. CPU of this process and
 * of the connection's backend per event; the events of one booking are applied one per transaction,
 * as the live handlers do when they arrive one at a time.
 *
 *   npm run bench:ops-read-model   BENCH_BIG_BOOKING (default 1000), BENCH_BOOKINGS (default 5000),
 *                                  BENCH_BASELINE_DIR: a checkout whose services/ops.read-model.ts is
 *                                  measured the same way in the same run, each in a table of its own
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { newHeader } from "../contracts/index.ts";
import type { Transaction } from "../lib/database/db.ts";
import { applyToOpsReadModel, OPS_TABLE } from "../services/ops.read-model.ts";
import { openTestDatabase } from "../test/support/system.ts";
import { cpuDuring, machine, report, round } from "./support.ts";

const bigBooking = Number(process.env.BENCH_BIG_BOOKING ?? 1000);
const otherBookings = Number(process.env.BENCH_BOOKINGS ?? 5000);
const SMALL_BOOKING = 10;

type Apply = typeof applyToOpsReadModel;

const event = <B extends object>(body: B) => ({ ...body, header: newHeader() });

/** A table of its own filled with `otherBookings` bookings of 2 tickets each, plus a small and a big one. */
async function fill(db: Knex, apply: Apply, table: string) {
  await db.raw("CREATE TABLE ?? (LIKE ?? INCLUDING ALL)", [table, OPS_TABLE]);
  const price = { amount: "10.00", currency: "EUR" };
  const book = async (trx: Transaction, tickets: number) => {
    const bookingId = randomUUID();
    await apply.bookingMade(
      trx,
      event({ booking_id: bookingId, number_of_tickets: tickets, customer_email: "b@example.com", show_id: randomUUID() }),
      table,
    );
    const ticketIds = Array.from({ length: tickets }, () => randomUUID());
    for (const ticketId of ticketIds)
      await apply.ticketConfirmed(
        trx,
        event({ booking_id: bookingId, ticket_id: ticketId, customer_email: "b@example.com", price }),
        table,
      );
    return ticketIds;
  };
  for (let done = 0; done < otherBookings; done += 500)
    await db.transaction(async (trx) => {
      for (let i = done; i < Math.min(otherBookings, done + 500); i++) await book(trx, 2);
    });
  const small = await db.transaction((trx) => book(trx, SMALL_BOOKING));
  const big = await db.transaction((trx) => book(trx, bigBooking));
  await db.raw("ANALYZE ??", [table]);
  return { small, big };
}

/** CPU per event (this process, the backend) of printing and receipting each ticket, one transaction per event. */
async function perEvent(db: Knex, database: string, apply: Apply, table: string, ticketIds: string[]) {
  const { nodeMs, postgresMs, wallMs } = await cpuDuring(db, database, async () => {
    for (const [i, ticketId] of ticketIds.entries()) {
      await db.transaction((trx) => apply.ticketPrinted(trx, event({ ticket_id: ticketId, file_name: `${ticketId}.html` }), table));
      await db.transaction((trx) =>
        apply.ticketReceiptIssued(
          trx,
          event({ ticket_id: ticketId, receipt_number: `R-${i}`, issued_at: new Date().toISOString() }),
          table,
        ),
      );
    }
  });
  const events = ticketIds.length * 2;
  return { node: nodeMs / events, postgres: postgresMs / events, wall: wallMs / events };
}

async function measure(db: Knex, database: string, apply: Apply, table: string) {
  const { small, big } = await fill(db, apply, table);
  const smallCost = await perEvent(db, database, apply, table, small);
  const bigCost = await perEvent(db, database, apply, table, big.slice(0, 200));
  return { smallCost, bigCost };
}

const ms = (cost: { node: number; postgres: number; wall: number }) =>
  `node ${round(cost.node, 2)} / postgres ${round(cost.postgres, 2)} / wall ${round(cost.wall, 2)}`;

async function main(): Promise<void> {
  const { db, close } = await openTestDatabase({ max: 2 });
  const database: string = (await db.raw("SELECT current_database() AS name")).rows[0].name;
  try {
    const figures: Record<string, string> = {};
    const implementations: [string, Apply][] = [["this checkout", applyToOpsReadModel]];
    const baselineDir = process.env.BENCH_BASELINE_DIR;
    if (baselineDir) implementations.unshift(["baseline", (await import(`${baselineDir}/services/ops.read-model.ts`)).applyToOpsReadModel]);
    for (const [name, apply] of implementations) {
      const { smallCost, bigCost } = await measure(db, database, apply, `bench_ops_${name.replace(/\W/g, "_")}`);
      const total = (cost: typeof smallCost) => cost.node + cost.postgres;
      figures[`${name}: ms per event, booking of ${SMALL_BOOKING}`] = ms(smallCost);
      figures[`${name}: ms per event, booking of ${bigBooking}`] = ms(bigCost);
      figures[`${name}: big ÷ small (node + postgres CPU)`] = String(round(total(bigCost) / total(smallCost), 2));
    }
    report(`bench:ops-read-model — ${otherBookings} other bookings, ${machine()}`, figures);
  } finally {
    await close();
  }
}

await main();
