import type { ReplHelpers } from "./command.ts";
import { errorMessage } from "../lib/errors.ts";

/** A table in the style of the REPL's built-in commands: ASCII borders in gray, bold headings. */
export function renderTable(helpers: ReplHelpers, headings: string[], rows: unknown[][]): string {
  const border = Object.fromEntries(
    Object.entries(helpers.getBorderCharacters("honeywell")).map(([key, char]) => [key, helpers.kleur.gray(char)]),
  );
  return helpers.table(
    [headings.map((h) => helpers.kleur.bold(h)), ...rows.map((row) => row.map((cell) => (cell == null ? "-" : String(cell))))],
    {
      border,
      drawHorizontalLine: (index: number, count: number) => index === 0 || index === 1 || index === count,
    },
  );
}

/** 950 ms, 12.3 s, 4 min 10 s, 2 h 5 min: enough precision for an operator. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long ago an ISO time was, e.g. "12.3 s ago". */
export function ago(iso: string | null, now = Date.now()): string {
  return iso === null ? "never" : `${formatDuration(Math.max(0, now - Date.parse(iso)))} ago`;
}

/** Prints an action's failure as one red line instead of a stack trace. */
export function failure(helpers: ReplHelpers, error: unknown): string {
  return helpers.kleur.red(`>> ${errorMessage(error)}`);
}
