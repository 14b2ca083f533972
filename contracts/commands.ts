import { defineCommand, Uuid } from "./common.ts";

export const RefundTicket = defineCommand("RefundTicket", {
  ticket_id: Uuid,
});
