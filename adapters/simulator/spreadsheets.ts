// The spreadsheets partner: every appended row is kept (no dedupe, like the real one) and read back.
import { AppendRowBody, type SheetRowsAnswer } from "../../contracts/partners.ts";
import { parseBody, type Reply, type Route } from "./http.ts";
import type { GatewaySimulatorState } from "./state.ts";

const ROWS = /^\/spreadsheets-api\/sheets\/([^/]+)\/rows$/;

export function spreadsheetRoutes(state: GatewaySimulatorState): Route[] {
  return [
    { method: "POST", pattern: ROWS, handle: ({ segment, raw }) => append(state, segment, parseBody(AppendRowBody, raw)) },
    {
      method: "GET",
      pattern: ROWS,
      handle: ({ segment }) => ({ status: 200, body: { rows: state.sheets.get(segment) ?? [] } satisfies SheetRowsAnswer }),
    },
  ];
}

function append(state: GatewaySimulatorState, sheet: string, req: AppendRowBody): Reply {
  const rows = state.sheets.get(sheet) ?? [];
  rows.push([...req.columns]);
  state.sheets.set(sheet, rows);
  return { status: 200, body: {} };
}
