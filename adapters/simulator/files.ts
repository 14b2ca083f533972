// The files partner: a file id is written once; a second PUT answers 409 and keeps the first content.
import type { FileCreatedAnswer } from "../../contracts/partners.ts";
import { errorReply, type Reply, type Route } from "./http.ts";
import type { GatewaySimulatorState } from "./state.ts";

const CONTENT = /^\/files-api\/files\/([^/]+)\/content$/;

export function fileRoutes(state: GatewaySimulatorState): Route[] {
  return [
    { method: "PUT", pattern: CONTENT, handle: ({ segment, raw }) => put(state, segment, raw) },
    { method: "GET", pattern: CONTENT, handle: ({ segment }) => get(state, segment) },
  ];
}

function put(state: GatewaySimulatorState, id: string, content: string): Reply {
  if (state.files.has(id)) return errorReply(409, `file ${id} already exists`);
  state.files.set(id, content);
  return { status: 201, body: { id } satisfies FileCreatedAnswer };
}

function get(state: GatewaySimulatorState, id: string): Reply {
  const content = state.files.get(id);
  if (content === undefined) return errorReply(404, `file ${id} not found`);
  return { status: 200, text: content };
}
