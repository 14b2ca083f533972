/**
 * A poison message (not JSON, published straight to JetStream) and a handler that always fails for
 * one ticket (the gateway refuses every call naming it): both end in the dead-letter store — the
 * poison at once, the failing one after its retry budget (4 deliveries) — while everything else flows.
 * After the fix, replaying through `tickets.replayDeadLetter` (what the REPL calls) applies the
 * missing effects exactly once.
 */
import { randomUUID } from "node:crypto";
import test from "ava";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { eventually, settle } from "../support/system.ts";
import { checkDelivery, waitForConsistency } from "./support/checker.ts";
import { API_NODE_SERVICES, startFaultSystem, type FaultSystem } from "./support/fault-system.ts";
import { sendUntilAnswered, Traffic } from "./support/traffic.ts";
import { MessageHeaders } from "../../lib/messaging/topology.ts";

const maxDeliveries = 4;

let sys: FaultSystem;
test.before(async () => {
  sys = await startFaultSystem({ env: { CONSUMER_RETRY_BUDGET_MS: "350" } });
  await sys.startNode("api-1", API_NODE_SERVICES);
});
test.after.always(async () => {
  await sys?.stop();
});
test.afterEach.always((t) => {
  if (!t.passed && sys) t.log(sys.diagnostics().join("\n"));
});

interface Letter {
  id: number;
  handler: string;
  service: string;
  message_id: string;
  deliveries: number;
}

test.serial(
  "a poison message and an always-failing handler are dead-lettered, the rest flows, replay after the fix applies each effect once",
  async (t) => {
    const nc = await sys.natsConnection();
    const traffic = new Traffic({ apiUrl: sys.apiUrl, ticketRequestsPerSecond: 5 }).start();

    const poisonId = randomUUID();
    const h = natsHeaders();
    h.set(MessageHeaders.name, "TicketBookingConfirmed_v1");
    await jetstream(nc).publish(sys.topology.subject("event", "TicketBookingConfirmed_v1"), "{not json", { msgID: poisonId, headers: h });

    const failingTicket = randomUUID();
    sys.proxy.refuseCallsMentioning(failingTicket, 500);
    const confirm = await sendUntilAnswered(
      `${sys.apiUrl}/api/tickets-status`,
      "POST",
      {
        tickets: [
          {
            ticket_id: failingTicket,
            status: "confirmed",
            price: { amount: "99.00", currency: "EUR" },
            customer_email: "failing@example.com",
          },
        ],
      },
      { "Idempotency-Key": randomUUID() },
    );
    t.is(confirm.status, 200);
    const [failingRow] = await sys
      .db("outbox")
      .where({ name: "TicketBookingConfirmed_v1" })
      .whereLike("payload", `%${failingTicket}%`)
      .select("message_id");
    const failingId: string = failingRow.message_id;

    const gatewayHandlers = ["tickets-AppendToTracker", "tickets-PrintTicket", "tickets-IssueReceipt"];
    const failingLetters = (await eventually(
      async () => {
        const letters: Letter[] = await sys
          .db("dead_letters")
          .where({ message_id: failingId })
          .select("id", "handler", "service", "message_id", "deliveries");
        return letters.length === gatewayHandlers.length ? letters : undefined;
      },
      { timeoutMs: 60_000 },
    ))!;
    t.deepEqual(failingLetters.map((l) => l.handler).sort(), [...gatewayHandlers].sort());
    t.true(
      failingLetters.every((l) => l.deliveries === maxDeliveries),
      "dead-lettered after exactly the delivery limit",
    );

    const poisonLetters = (await eventually(async () => {
      const letters: Letter[] = await sys
        .db("dead_letters")
        .where({ message_id: poisonId })
        .select("id", "handler", "service", "message_id", "deliveries");
      return letters.length >= 5 ? letters : undefined;
    }))!;
    t.true(
      poisonLetters.every((l) => l.deliveries === 1),
      "a message that fails its contract is dead-lettered at once",
    );
    t.true(poisonLetters.some((l) => l.handler === "tickets-StoreTicket"));

    await settle(1_000);
    await traffic.stop();
    const expectedDeadLetters = [...failingLetters, ...poisonLetters];
    const before = await waitForConsistency(
      {
        db: sys.db,
        nats: nc,
        redisUrl: sys.redis.url,
        topology: sys.topology,
        sim: sys.sim,
        accepted: { tickets: traffic.acceptedTickets },
        foreignMessageIds: [poisonId],
        expectedDeadLetters,
      },
      { timeoutMs: 20_000 },
    );
    t.deepEqual(
      before.problems.map((p) => p.replace(/ \(e\.g\..*$/, "")),
      [
        "lost: confirmed tickets without receipt at the gateway: 1",
        "lost: confirmed tickets without tickets-to-print row: 1",
        "lost: confirmed tickets without TicketPrinted_v1: 1",
        "lost: confirmed tickets without TicketReceiptIssued_v1: 1",
        "lost: confirmed tickets without a printed file: 1",
        "lost: confirmed tickets without a tickets-AppendToTracker inbox marker: 1",
        "lost: confirmed tickets without a tickets-PrintTicket inbox marker: 1",
        "lost: confirmed tickets without a tickets-IssueReceipt inbox marker: 1",
      ],
      "only the failing ticket's gateway effects are missing: the rest flowed",
    );
    t.true(before.problems.every((p) => p.includes(failingTicket.toLowerCase())));

    sys.proxy.allowAll();
    const caller = await sys.caller();
    await caller.waitForServices(["tickets"], 10_000);
    for (const letter of failingLetters) {
      t.deepEqual(await caller.call("tickets.replayDeadLetter", { id: Number(letter.id) }), { id: Number(letter.id), replayed: true });
    }
    const poisonReplay = await caller.call<{ replayed: boolean }, { id: number }>("tickets.replayDeadLetter", {
      id: Number(poisonLetters.find((l) => l.handler === "tickets-StoreTicket")!.id),
    });
    t.false(poisonReplay.replayed, "the poison message still cannot be handled");

    const after = await waitForConsistency({
      db: sys.db,
      nats: nc,
      redisUrl: sys.redis.url,
      topology: sys.topology,
      sim: sys.sim,
      accepted: { tickets: [...traffic.acceptedTickets, failingTicket] },
      foreignMessageIds: [poisonId],
      expectedDeadLetters: poisonLetters,
    });
    t.log(after.counts);
    t.deepEqual(after.problems, []);
    t.deepEqual(
      await checkDelivery({
        db: sys.db,
        nats: nc,
        redisUrl: sys.redis.url,
        topology: sys.topology,
        sim: sys.sim,
        foreignMessageIds: [poisonId],
        expectedDeadLetters: poisonLetters,
      }).then((r) => r.problems),
      [],
    );
  },
);
