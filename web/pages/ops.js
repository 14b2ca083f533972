import { api } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace } from "../lib/dom.js";
import { formatPrice, formatTime, isSet, timeParts } from "../lib/format.js";

/** How often the report is re-read while the page is visible (see web/README note: polling, not SSE). */
const pollIntervalMs = 2000;

export function mount(root, { query, signal }) {
  const receiptDate = query.get("receipt_issue_date") ?? "";
  const live = h("p", { class: "live", role: "status" });
  const report = h("div", { class: "ops-report" }, loadingState("Loading bookings…"));
  root.append(
    pageHeader("Ops report", "Every booking and what happened to each of its tickets. Updates live."),
    filterForm(receiptDate),
    live,
    report,
  );
  poll(report, live, receiptDate, signal);
}

function filterForm(receiptDate) {
  const date = h("input", { type: "date", id: "receipt-date", name: "receipt_issue_date", value: receiptDate });
  const go = (value) => (location.hash = value ? `#/ops?${new URLSearchParams({ receipt_issue_date: value })}` : "#/ops");
  return h(
    "form",
    {
      class: "filter",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        go(date.value);
      },
    },
    h("label", { for: "receipt-date" }, "Receipt issued on"),
    date,
    h("button", { type: "submit", class: "btn" }, "Filter"),
    receiptDate ? h("button", { type: "button", class: "btn btn--ghost", onclick: () => go("") }, "Clear") : null,
  );
}

/**
 * Re-reads the report every pollIntervalMs while the tab is visible, one request at a time, and
 * redraws only when the answer changed (so scrolling and text selection survive). Stops when the
 * page is left (signal).
 */
function poll(report, live, receiptDate, signal) {
  let lastBody = null;
  let timer = null;
  let hasData = false;
  let lastError = null;

  const schedule = () => {
    clearTimeout(timer);
    if (!signal.aborted && document.visibilityState === "visible") timer = setTimeout(tick, pollIntervalMs);
  };
  const tick = async () => {
    clearTimeout(timer);
    try {
      const { data } = await api.listOpsBookings(receiptDate, signal);
      const body = JSON.stringify(data);
      if (body !== lastBody) {
        lastBody = body;
        renderReport(report, data ?? [], receiptDate);
      }
      hasData = true;
      live.className = "live live--on";
      replace(live, `Live · checked ${new Date().toLocaleTimeString()}`);
      lastError = null;
    } catch (error) {
      if (error.name === "AbortError") return;
      live.className = "live live--error";
      replace(live, hasData ? `Not updating (${error.message}); retrying…` : "Retrying…");
      // Redraw the error only when it changes, so its Try again button stays put between polls.
      if (!hasData && error.message !== lastError) replace(report, errorState(error, tick));
      lastError = error.message;
    }
    schedule();
  };
  const onVisibility = () => {
    if (document.visibilityState === "visible") tick();
    else {
      clearTimeout(timer);
      live.className = "live";
      replace(live, "Paused while this tab is hidden");
    }
  };
  document.addEventListener("visibilitychange", onVisibility);
  signal.addEventListener("abort", () => {
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  });
  tick();
}

function renderReport(report, bookings, receiptDate) {
  if (bookings.length === 0) {
    replace(
      report,
      h(
        "section",
        { class: "card" },
        receiptDate
          ? emptyState(`No bookings with a receipt issued on ${receiptDate}.`)
          : emptyState(
              "No bookings yet.",
              "Bookings appear here as soon as they are made on ",
              h("a", { href: "#/book" }, "Book tickets"),
              ".",
            ),
      ),
    );
    return;
  }
  replace(report, bookings.map(bookingCard));
}

function bookingCard(booking) {
  const tickets = Object.entries(booking.tickets ?? {});
  return h(
    "section",
    { class: "card booking", dataset: { bookingId: booking.booking_id } },
    h(
      "dl",
      { class: "booking__facts" },
      fact("Booking ID", h("span", { class: "mono id" }, booking.booking_id)),
      fact("Booked at", formatTime(booking.booked_at)),
      fact("Tickets", tickets.length),
      fact("Last update", formatTime(booking.last_update)),
    ),
    tickets.length === 0
      ? h("p", { class: "muted booking__waiting" }, "No tickets yet: waiting for the partner's confirmation.")
      : ticketsTable(tickets),
  );
}

const fact = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));

/** A time as date over clock ("-" when unset), the exact RFC 3339 value in its tooltip. */
function timeCell(label, time, extraClass = "") {
  const parts = timeParts(time);
  return h(
    "td",
    { "data-label": label, class: `time ${extraClass}`, title: parts ? time : null, dataset: { set: String(Boolean(parts)) } },
    parts
      ? h(
          "span",
          { class: "time__value" },
          h("span", { class: "time__date" }, parts[0]),
          " ",
          h("span", { class: "time__clock" }, parts[1]),
        )
      : "-",
  );
}

function ticketsTable(tickets) {
  return h(
    "table",
    { class: "table table--stack table--dense" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Ticket ID", "Price", "Email", "Confirmed", "Printed", "Printed file", "Receipt issued", "Receipt #", "Refunded"].map((label) =>
          h("th", { class: label === "Price" ? "num" : null }, label),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      tickets.map(([ticketId, ticket]) => {
        const refunded = isSet(ticket.refunded_at);
        const canceled = isSet(ticket.canceled_at);
        return h(
          "tr",
          { dataset: { ticketId }, class: refunded ? "is-refunded" : null },
          h(
            "td",
            { "data-label": "Ticket ID", class: "mono id" },
            h(
              "span",
              {},
              ticketId,
              canceled ? [" ", h("span", { class: "badge badge--warn", title: ticket.canceled_at }, "Canceled")] : null,
            ),
          ),
          h(
            "td",
            { "data-label": "Price", class: refunded ? "num col-price struck" : "num col-price" },
            h("span", {}, formatPrice(ticket.price_amount, ticket.price_currency)),
          ),
          h("td", { "data-label": "Email" }, ticket.customer_email),
          timeCell("Confirmed", ticket.confirmed_at, "col-confirmed"),
          timeCell("Printed", ticket.printed_at, "col-printed"),
          h("td", { "data-label": "Printed file", class: "mono col-file" }, ticket.printed_file_name || "-"),
          timeCell("Receipt issued", ticket.receipt_issued_at, "col-receipt"),
          h("td", { "data-label": "Receipt #", class: "mono col-receipt-number" }, ticket.receipt_number || "-"),
          timeCell("Refunded", ticket.refunded_at, `col-refunded ${refunded ? "danger" : ""}`),
        );
      }),
    ),
  );
}
