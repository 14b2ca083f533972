import { api, listPage, listPath } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace } from "../lib/dom.js";
import { formatPrice, formatShowTime, formatTime, isSet, timeParts } from "../lib/format.js";
import { showOf, showSelect } from "../lib/shows.js";

/** How often the report is re-read while the page is visible (see web/README note: polling, not SSE). */
const pollIntervalMs = 2000;

/** Bookings per page: cards are tall, so fewer than the API's default. */
const pageSize = 20;

export function mount(root, { query, signal }) {
  const filters = { show_id: query.get("show_id") ?? "", receipt_issue_date: query.get("receipt_issue_date") ?? "" };
  const live = h("p", { class: "live", role: "status" });
  const report = h("div", { class: "ops-report" }, loadingState("Loading bookings…"));
  const filterSlot = h("div", {}, filterForm(filters, []));
  const pager = h("div", { class: "pager" });
  root.append(
    pageHeader("Ops report", "Every booking and what happened to each of its tickets, newest first. Updates live."),
    filterSlot,
    live,
    report,
    pager,
  );
  api
    .listShows(signal)
    .then((shows) => {
      // the form was usable before the shows arrived (with no show to pick): keep the date typed meanwhile
      const typed = filterSlot.querySelector("form").elements.namedItem("receipt_issue_date").value;
      replace(filterSlot, filterForm({ ...filters, receipt_issue_date: typed }, shows));
    })
    .catch(() => undefined);
  poll({ report, live, pager }, filters, signal);
}

function filterForm(filters, shows) {
  const show = showSelect({ id: "ops-show", shows, selectedId: filters.show_id });
  const date = h("input", { type: "date", id: "receipt-date", name: "receipt_issue_date", value: filters.receipt_issue_date });
  const go = (values) => {
    const query = new URLSearchParams(Object.entries(values).filter(([, value]) => value));
    location.hash = query.size ? `#/ops?${query}` : "#/ops";
  };
  return h(
    "form",
    {
      class: "filter filter--grid card",
      role: "search",
      "aria-label": "Find bookings",
      onsubmit: (event) => {
        event.preventDefault();
        go({ show_id: show.value, receipt_issue_date: date.value });
      },
    },
    h("div", { class: "filter__field" }, h("label", { for: "ops-show" }, "Show"), show),
    h("div", { class: "filter__field" }, h("label", { for: "receipt-date" }, "Receipt issued on"), date),
    h(
      "div",
      { class: "filter__actions" },
      h("button", { type: "submit", class: "btn" }, "Filter"),
      filters.show_id || filters.receipt_issue_date
        ? h("button", { type: "button", class: "btn btn--ghost", onclick: () => go({}) }, "Clear")
        : null,
    ),
  );
}

const newestFirst = (a, b) => (a.booked_at === b.booked_at ? (a.booking_id < b.booking_id ? 1 : -1) : a.booked_at < b.booked_at ? 1 : -1);

/**
 * Re-reads the first page every pollIntervalMs while the tab is visible, one request at a time,
 * with If-None-Match: an unchanged report costs a 304. Older pages are read on "Load more" and
 * kept; every booking shown is kept by id, so one pushed off the first page by a new booking stays
 * on screen (no gap before the older pages). Redraws only when something changed, so scrolling and
 * text selection survive. Stops when the page is left (signal).
 */
function poll({ report, live, pager }, filters, signal) {
  const firstPath = listPath("/api/ops/bookings", { ...filters, limit: pageSize });
  const shown = new Map();
  let etag = null;
  let next = null;
  let olderLoaded = false;
  let timer = null;
  let hasData = false;
  let lastError = null;

  const more = h("button", { type: "button", class: "btn pager__more" }, "Load more bookings");
  const count = h("p", { class: "pager__count" });
  const draw = () => {
    renderReport(report, [...shown.values()].sort(newestFirst), filters);
    replace(count, next ? `${shown.size} bookings shown · more available` : `${shown.size} bookings shown · that is all`);
    replace(pager, shown.size ? count : null, next ? more : null);
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    more.textContent = "Loading…";
    try {
      const page = await listPage(next, { signal });
      for (const booking of page.items) shown.set(booking.booking_id, booking);
      next = page.next;
      olderLoaded = true;
      draw();
    } catch (error) {
      if (error.name !== "AbortError") replace(count, `${shown.size} bookings shown · could not load more: ${error.message}`);
    } finally {
      more.disabled = false;
      more.textContent = "Load more bookings";
    }
  });

  const schedule = () => {
    clearTimeout(timer);
    if (!signal.aborted && document.visibilityState === "visible") timer = setTimeout(tick, pollIntervalMs);
  };
  const tick = async () => {
    clearTimeout(timer);
    try {
      const page = await listPage(firstPath, { signal, etag });
      if (!page.notModified) {
        etag = page.etag;
        for (const booking of page.items) shown.set(booking.booking_id, booking);
        if (!olderLoaded) next = page.next;
        draw();
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

function renderReport(report, bookings, filters) {
  if (bookings.length === 0) {
    replace(
      report,
      h(
        "section",
        { class: "card" },
        filters.show_id || filters.receipt_issue_date
          ? emptyState(
              filters.receipt_issue_date
                ? `No bookings with a receipt issued on ${filters.receipt_issue_date}.`
                : "No bookings for this show yet.",
            )
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

/** The booking's show, filled in once read (many cards share one request). */
function showLine(showId) {
  const line = h("p", { class: "booking__show" }, showId ? "…" : "Show unknown");
  showOf(showId).then((show) => {
    if (show)
      replace(
        line,
        h("a", { href: `#/sales?show_id=${show.show_id}`, class: "strong" }, show.title),
        ` · ${show.venue} · ${formatShowTime(show.start_time)}`,
      );
    else if (showId) replace(line, h("span", { class: "mono id" }, showId));
  });
  return line;
}

function bookingCard(booking) {
  const tickets = Object.entries(booking.tickets ?? {});
  return h(
    "section",
    { class: "card booking", dataset: { bookingId: booking.booking_id } },
    showLine(booking.show_id),
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
