import { TicketPrinted_v1 } from "../../contracts/index.ts";
import { writeToOutbox } from "../../lib/messaging/outbox.ts";
import type { TestSystem } from "./system.ts";

/** One TicketPrinted_v1 per ticket, all through the outbox in one transaction: the consumer tests' traffic. */
export async function publishTicketsPrinted(sys: TestSystem, ticketIds: string[]): Promise<void> {
  await sys.node.runtime.db.transaction(async (trx) => {
    for (const ticket_id of ticketIds)
      await writeToOutbox(trx, sys.node.runtime.topology, {
        contract: TicketPrinted_v1,
        body: { ticket_id, file_name: `${ticket_id}-ticket.html` },
      });
  });
}
