import { DeadLetterParams, RebuildParams, ReplayParams } from "../../contracts/admin.ts";
import type { ApiRoute } from "./api-routes.ts";

const notFound = { description: "No such dead letter" };

/** Keys are moleculer-web aliases relative to `/admin`; every one needs `Authorization: Bearer <ADMIN_TOKEN>`. */
export const adminApi: Record<string, ApiRoute> = {
  "GET /outbox": {
    action: "admin.outbox",
    summary: "Outbox backlog, age and relay state",
    responses: { 200: { description: "Outbox status" } },
  },
  "GET /consumers": {
    action: "admin.consumers",
    summary: "Durable consumers with their pending and redelivered messages",
    responses: { 200: { description: "Consumers" } },
  },
  "GET /dead-letters": {
    action: "admin.dlqList",
    summary: "Dead letters, oldest first",
    responses: { 200: { description: "Dead letters" } },
  },
  "GET /dead-letters/:id": {
    action: "admin.dlqShow",
    summary: "One dead letter with its payload",
    params: DeadLetterParams,
    responses: { 200: { description: "The dead letter" }, 400: { description: "Invalid id" }, 404: notFound },
  },
  "POST /dead-letters/:id/replay": {
    action: "admin.dlqReplay",
    summary: "Run the owning handler again on one dead letter, or on every one with the id all; a success removes it",
    params: ReplayParams,
    responses: { 200: { description: "Replay results" }, 400: { description: "Invalid id" }, 404: notFound },
  },
  "DELETE /dead-letters/:id": {
    action: "admin.dlqDrop",
    summary: "Drop one dead letter",
    params: DeadLetterParams,
    responses: { 200: { description: "Dropped" }, 400: { description: "Invalid id" }, 404: notFound },
  },
  "POST /read-models/:name/rebuild": {
    action: "admin.rebuildReadModel",
    summary: "Rebuild a read model from the data lake",
    params: RebuildParams,
    responses: { 200: { description: "Rebuild started or finished" }, 400: { description: "Unknown read model" } },
  },
};
