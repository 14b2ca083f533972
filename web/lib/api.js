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

/** Sends one request; resolves with `{ status, headers, data }` or rejects with an ApiError. */
export async function request(method, path, { body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
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
  if (!response.ok) {
    const message = typeof data?.error === "string" ? data.error : `The request failed (HTTP ${response.status}).`;
    throw new ApiError(response.status, message, Array.isArray(data?.details) ? data.details : []);
  }
  return { status: response.status, headers: response.headers, data };
}

export const api = {
  listShows: (signal) => request("GET", "/api/shows", { signal }).then((r) => r.data ?? []),
  createShow: (show) => request("POST", "/api/shows", { body: show }).then((r) => r.data),
  bookTickets: (booking) => request("POST", "/api/book-tickets", { body: booking }).then((r) => r.data),
  sendTicketStatus: (tickets, idempotencyKey) =>
    request("POST", "/api/tickets-status", { body: { tickets }, headers: { "Idempotency-Key": idempotencyKey } }),
  listTickets: (signal) => request("GET", "/api/tickets", { signal }).then((r) => r.data ?? []),
  refundTicket: (ticketId) => request("PUT", `/api/ticket-refund/${encodeURIComponent(ticketId)}`),
  listOpsBookings: (receiptIssueDate, signal) => {
    const query = receiptIssueDate ? `?receipt_issue_date=${encodeURIComponent(receiptIssueDate)}` : "";
    return request("GET", `/api/ops/bookings${query}`, { signal });
  },
};
