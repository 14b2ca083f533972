/**
 * Kills a node's relay between publishing to JetStream and marking the outbox rows: rows are
 * committed in one transaction while a node idles, and the node is SIGKILLed from outside as soon
 * as JetStream holds a random part of the first batch, which lands while the relay's transaction
 * (claim → publish → mark) is still open. Whether it landed is checked, not assumed: JetStream must
 * hold messages whose rows are not marked.
 */
import { randomUUID } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { TicketBookingConfirmed_v1 } from "../../../contracts/index.ts";
import { writeToOutbox } from "../../../lib/messaging/outbox.ts";
import type { FaultSystem } from "./fault-system.ts";

export interface RelayCrash {
  /** Messages JetStream held right after the kill. */
  inJetStream: number;
  /** Rows marked published right after the kill. */
  marked: number;
  rows: number;
  /** Tickets written over every attempt: an attempt whose kill missed its window has written its rows too. */
  written: number;
}

export async function crashRelayAfterPublish(sys: FaultSystem, rows: number, attempts = 3): Promise<RelayCrash> {
  const jsm = await jetstreamManager(await sys.natsConnection());
  const stream = sys.topology.streams.event;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const victim = await sys.startNode(`relay-victim-${attempt}`, ["datalake"]);
    const before = (await jsm.streams.info(stream)).state.messages;
    const markedBefore = await markedCount(sys);
    const threshold = 1 + Math.floor(Math.random() * 300);
    await sys.db.transaction(async (trx) => {
      for (let i = 0; i < rows; i++) {
        await writeToOutbox(trx, sys.topology, {
          contract: TicketBookingConfirmed_v1,
          body: {
            booking_id: "",
            ticket_id: randomUUID(),
            customer_email: "relay-crash@example.com",
            price: { amount: "10.00", currency: "EUR" },
          },
        });
      }
    });
    while ((await jsm.streams.info(stream)).state.messages - before < threshold) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await victim.process.kill();
    sys.nodes.delete(victim.name);
    const inJetStream = (await jsm.streams.info(stream)).state.messages - before;
    const marked = (await markedCount(sys)) - markedBefore;
    if (inJetStream > marked) return { inJetStream, marked, rows, written: rows * attempt };
  }
  throw new Error(`the kill never landed between publish and mark in ${attempts} attempts`);
}

async function markedCount(sys: FaultSystem): Promise<number> {
  return Number((await sys.db("outbox").whereNotNull("published_at").count({ n: "*" }))[0]!.n);
}
