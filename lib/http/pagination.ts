import { createHash } from "node:crypto";
import { HttpError } from "./http-errors.ts";
import type { RequestMeta } from "./request-meta.ts";

/**
 * Keyset pages of the public lists, seed-compatible: the body stays a plain JSON array, and when
 * more items exist an RFC 8288 `Link: <…>; rel="next"` header carries an opaque cursor that
 * continues after the page's last item.
 */

/** Where a page ends: the sort time of its last item (SORT_TIME_TEXT, microseconds kept) and its id. */
export interface Position {
  sort: string;
  id: string;
}

/**
 * Every action reply crosses NATS, whose default max_payload is 1 MiB, and Moleculer wraps the
 * items in its packet (meta, headers, ids). A page keeps its items' JSON under this, whatever
 * their size; a single item larger than this is still sent alone.
 */
export const PAGE_BYTES_MAX = 768 * 1024;

/** How a sort time travels in a cursor: to_char(time in UTC, this), exact to the microsecond Postgres keeps. */
export const SORT_TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';
const SORT_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.sort, position.id])).toString("base64url");
}

/** A cursor this API handed out, or a 400 naming the parameter. */
export function decodeCursor(cursor: string): Position {
  try {
    const [sort, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (SORT_TIME.test(sort) && !Number.isNaN(Date.parse(sort)) && typeof id === "string" && UUID.test(id)) {
      return { sort, id };
    }
  } catch {
    // falls through to the 400 below
  }
  throw new HttpError(400, "invalid request: cursor: must be the cursor of a Link header", [
    { field: "cursor", message: "must be the cursor of a Link header" },
  ]);
}

export interface Page<T> {
  items: T[];
  /** Where the next page starts; undefined on the last page. */
  next?: Position;
}

/**
 * Cuts rows read with `limit + 1` into a page of at most `limit` items and PAGE_BYTES_MAX bytes of
 * JSON; the next page starts after the last item kept. At least one item is kept, so paging
 * always moves on.
 */
export function cutPage<R, T>(
  rows: R[],
  limit: number,
  view: (row: R) => T,
  positionOf: (row: R) => Position,
  maxBytes = PAGE_BYTES_MAX,
): Page<T> {
  const items = withinBytes(rows.slice(0, limit).map(view), maxBytes);
  const more = items.length < rows.length;
  return { items, next: more ? positionOf(rows[items.length - 1]!) : undefined };
}

/** The leading items whose JSON array fits in `maxBytes`; never fewer than one. */
export function withinBytes<T>(items: T[], maxBytes = PAGE_BYTES_MAX): T[] {
  let bytes = 2;
  let kept = 0;
  for (const item of items) {
    bytes += Buffer.byteLength(JSON.stringify(item)) + 1;
    if (kept > 0 && bytes > maxBytes) break;
    kept++;
  }
  return items.slice(0, kept);
}

/** The request's own path and query with `cursor` replaced: what the next page's link points at. */
export function nextLink(requestUrl: string, cursor: string): string {
  const url = new URL(requestUrl, "http://base.invalid");
  url.searchParams.set("cursor", cursor);
  return `<${url.pathname}${url.search}>; rel="next"`;
}

/** Answers a page: the items, with the Link header of the next page when there is one. */
export function replyPage<T>(meta: RequestMeta, page: Page<T>): T[] {
  if (page.next && meta.requestUrl) {
    meta.$responseHeaders = { ...meta.$responseHeaders, Link: nextLink(meta.requestUrl, encodeCursor(page.next)) };
  }
  return page.items;
}

/**
 * Adds a strong ETag of the page (its items and its Link) and answers 304 with no body when the
 * client's If-None-Match names it already: a poller pays for the query, not for the transfer.
 */
export function withEtag<T>(meta: RequestMeta, items: T[]): T[] | null {
  const hash = createHash("sha256")
    .update(JSON.stringify(items))
    .update(meta.$responseHeaders?.Link ?? "")
    .digest("base64url")
    .slice(0, 27);
  const etag = `"${hash}"`;
  meta.$responseHeaders = { ...meta.$responseHeaders, ETag: etag };
  if (ifNoneMatchHas(meta.ifNoneMatch, etag)) {
    meta.$statusCode = 304;
    return null;
  }
  return items;
}

function ifNoneMatchHas(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const candidate = tag.trim().replace(/^W\//, "");
    return candidate === "*" || candidate === etag;
  });
}
