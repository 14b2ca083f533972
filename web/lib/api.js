// Same-origin calls to the Tickets API: paths are absolute ("/api/..."), never a hard-coded host.
// The session cookie goes along by itself; changes also carry the session's CSRF token.
import { session } from "./session.js";

/** A failed request: HTTP status (0 when the server could not be reached), message and field details. */
export class ApiError extends Error {
  constructor(status, message, details = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details;
  }
}

/** Sends one request; resolves with `{ status, headers, data }` (a 304 has data null) or rejects with an ApiError. */
export async function request(method, path, { body, headers = {}, signal, cache } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal, cache };
  const { csrfToken } = session();
  if (csrfToken && method !== "GET") init.headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server could not be reached. Check the connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (response.status === 401) window.dispatchEvent(new Event("tickets:unauthorized"));
  if (!response.ok && response.status !== 304) {
    const message = typeof data?.error === "string" ? data.error : `The request failed (HTTP ${response.status}).`;
    throw new ApiError(response.status, message, Array.isArray(data?.details) ? data.details : []);
  }
  return { status: response.status, headers: response.headers, data };
}

/** The path of a `Link: <…>; rel="next"` header; null on the last page. */
const nextOf = (headers) => headers.get("Link")?.match(/<([^>]+)>;\s*rel="next"/)?.[1] ?? null;

/**
 * One page of a list: `{ items, next, etag, notModified }`. `next` is the path of the following
 * page (the API's Link header); with `etag`, an unchanged page answers `notModified` and no items.
 */
export async function listPage(path, { signal, etag } = {}) {
  const headers = etag ? { "If-None-Match": etag } : {};
  const response = await request("GET", path, { signal, headers, cache: "no-store" });
  return {
    items: response.data ?? [],
    next: nextOf(response.headers),
    etag: response.headers.get("ETag"),
    notModified: response.status === 304,
  };
}

/** A list path with its filters; empty values are left out. */
export function listPath(base, filters = {}) {
  const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value !== "" && value != null));
  return query.size ? `${base}?${query}` : base;
}

export const api = {
  /** The first page (up to 1000) of shows; `{ upcoming: true }` leaves out past ones. */
  listShows: (signal, filters = {}) => request("GET", listPath("/api/shows", filters), { signal }).then((r) => r.data ?? []),
  getShow: (showId, signal) => request("GET", `/api/shows/${encodeURIComponent(showId)}`, { signal }).then((r) => r.data),
  showSales: (showId, signal) => request("GET", `/api/shows/${encodeURIComponent(showId)}/sales`, { signal }).then((r) => r.data),
  getOpsBooking: (bookingId, signal) =>
    request("GET", `/api/ops/bookings/${encodeURIComponent(bookingId)}`, { signal }).then((r) => r.data),
  createShow: (show) => request("POST", "/api/shows", { body: show }).then((r) => r.data),
  bookTickets: (booking) => request("POST", "/api/book-tickets", { body: booking }).then((r) => r.data),
  sendTicketStatus: (tickets, idempotencyKey) =>
    request("POST", "/api/tickets-status", { body: { tickets }, headers: { "Idempotency-Key": idempotencyKey } }),
  refundTicket: (ticketId) => request("PUT", `/api/ticket-refund/${encodeURIComponent(ticketId)}`),
};
