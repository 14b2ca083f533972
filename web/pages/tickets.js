import { api, listPath } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace, toast } from "../lib/dom.js";
import { formatPrice, formatTime, isSet } from "../lib/format.js";
import { mayUse } from "../lib/session.js";
import { createPager } from "../lib/pager.js";
import { showSelect } from "../lib/shows.js";

/** Tickets whose refund was requested from this tab and is not yet visible in the ops report. */
const requestedKey = "tickets.refunds.requested";

/** Tickets per page: a screenful, newest first. */
const pageSize = 50;
const filterNames = ["show_id", "booking_id", "customer_email", "status"];

export function mount(root, { query, signal }) {
  const filters = Object.fromEntries(filterNames.map((name) => [name, query.get(name) ?? ""]));
  const section = h("section", { class: "card" });
  const filterSlot = h("div", {});
  const dialog = refundDialog();
  const reload = () => load(section, filters, dialog, signal);
  root.append(
    pageHeader(
      "Tickets",
      "Tickets the partner confirmed, newest first. A refund voids the receipt and refunds the payment.",
      h("button", { type: "button", class: "btn", onclick: reload }, "Refresh"),
    ),
    filterSlot,
    section,
    dialog.element,
  );
  api
    .listShows(signal)
    .catch(() => [])
    .then((shows) => replace(filterSlot, filterForm(filters, shows)));
  reload();
}

function filterForm(filters, shows) {
  const show = showSelect({ id: "tickets-show", shows, selectedId: filters.show_id });
  const booking = h("input", {
    id: "tickets-booking",
    name: "booking_id",
    value: filters.booking_id,
    placeholder: "Booking ID",
    class: "mono",
  });
  const email = h("input", {
    id: "tickets-email",
    name: "customer_email",
    type: "search",
    value: filters.customer_email,
    placeholder: "name@example.com",
  });
  const status = h(
    "select",
    { id: "tickets-status", name: "status" },
    h("option", { value: "" }, "Valid"),
    h("option", { value: "canceled", selected: filters.status === "canceled" }, "Canceled"),
  );
  const go = (values) => {
    const query = new URLSearchParams(Object.entries(values).filter(([, value]) => value));
    location.hash = query.size ? `#/tickets?${query}` : "#/tickets";
  };
  const anySet = filterNames.some((name) => filters[name]);
  return h(
    "form",
    {
      class: "filter filter--grid card",
      role: "search",
      "aria-label": "Find tickets",
      onsubmit: (event) => {
        event.preventDefault();
        go({ show_id: show.value, booking_id: booking.value.trim(), customer_email: email.value.trim(), status: status.value });
      },
    },
    h("div", { class: "filter__field" }, h("label", { for: "tickets-show" }, "Show"), show),
    h("div", { class: "filter__field" }, h("label", { for: "tickets-booking" }, "Booking"), booking),
    h("div", { class: "filter__field" }, h("label", { for: "tickets-email" }, "Customer email"), email),
    h("div", { class: "filter__field" }, h("label", { for: "tickets-status" }, "Status"), status),
    h(
      "div",
      { class: "filter__actions" },
      h("button", { type: "submit", class: "btn" }, "Search"),
      anySet ? h("button", { type: "button", class: "btn btn--ghost", onclick: () => go({}) }, "Clear") : null,
    ),
  );
}

function readRequested() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(requestedKey) ?? "[]"));
  } catch {
    return new Set();
  }
}
const markRequested = (ticketId) => sessionStorage.setItem(requestedKey, JSON.stringify([...readRequested().add(ticketId)]));

/**
 * refunded_at of each ticket of a page, from the ops report's bookings of those tickets (each
 * booking read once); a ticket whose booking cannot be read has no entry (status unknown).
 */
async function refundTimes(tickets, signal) {
  const bookingIds = [...new Set(tickets.map((ticket) => ticket.booking_id).filter(Boolean))];
  const times = new Map();
  let complete = true;
  await Promise.all(
    bookingIds.map(async (bookingId) => {
      try {
        const booking = await api.getOpsBooking(bookingId, signal);
        for (const [ticketId, ticket] of Object.entries(booking?.tickets ?? {})) times.set(ticketId, ticket.refunded_at);
      } catch (error) {
        if (error.name === "AbortError") throw error;
        complete = false;
      }
    }),
  );
  return { times, complete };
}

async function load(section, filters, dialog, signal) {
  replace(section, loadingState("Loading tickets…"));
  const reload = () => load(section, filters, dialog, signal);
  const body = h("tbody", {});
  const notice = h("p", { class: "muted small" });
  const canceled = filters.status === "canceled";
  const rowOf = (ticket, refunded) => ticketRow(ticket, { refunded, canceled, dialog, reload });
  const pager = createPager({
    noun: "tickets",
    signal,
    renderPage: (tickets) => {
      const rows = tickets.map((ticket) => rowOf(ticket, undefined));
      body.append(...rows);
      refundTimes(tickets, signal)
        .then(({ times, complete }) => {
          for (const [i, row] of rows.entries()) row.replaceWith(rowOf(tickets[i], times));
          if (!complete) replace(notice, "Refund status of some tickets is unavailable: the ops report could not be read.");
        })
        .catch(() => undefined);
    },
  });
  try {
    await pager.start(listPath("/api/tickets", { ...filters, order: "newest", limit: pageSize }));
    if (body.childElementCount === 0) {
      const filtered = filterNames.some((name) => filters[name]);
      replace(
        section,
        filtered
          ? emptyState("No tickets match these filters.")
          : emptyState(
              "No tickets yet. Book some tickets first!",
              "Tickets appear here once the partner confirms them (",
              h("a", { href: "#/pending" }, "Pending callbacks"),
              ").",
            ),
      );
      return;
    }
    replace(section, ticketsTable(body), notice, pager.element);
  } catch (error) {
    if (error.name === "AbortError") return;
    replace(section, errorState(error, reload));
  }
}

function ticketsTable(body) {
  return h(
    "table",
    { class: "table table--stack" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "Ticket ID"),
        h("th", { class: "num" }, "Price"),
        h("th", {}, "Customer email"),
        h("th", {}, "Status"),
        h("th", { class: "actions" }, h("span", { class: "visually-hidden" }, "Actions")),
      ),
    ),
    body,
  );
}

/** One ticket; `refunded` undefined while the refund status is still being read. */
function ticketRow(ticket, { refunded, canceled, dialog, reload }) {
  const refundedAt = refunded?.get(ticket.ticket_id);
  const isRefunded = isSet(refundedAt);
  const status = canceled
    ? h("span", { class: "badge badge--warn" }, "Canceled")
    : isRefunded
      ? h("span", { class: "badge badge--danger", title: refundedAt }, `Refunded ${formatTime(refundedAt)}`)
      : readRequested().has(ticket.ticket_id)
        ? h("span", { class: "badge badge--warn" }, "Refund requested")
        : h("span", { class: "badge badge--ok" }, "Valid");
  return h(
    "tr",
    { dataset: { ticketId: ticket.ticket_id } },
    h("td", { "data-label": "Ticket ID", class: "mono id" }, ticket.ticket_id),
    h(
      "td",
      { "data-label": "Price", class: isRefunded ? "num struck" : "num" },
      h("span", {}, formatPrice(ticket.price.amount, ticket.price.currency)),
    ),
    h("td", { "data-label": "Customer email" }, ticket.customer_email),
    h("td", { "data-label": "Status", class: "status" }, status),
    h(
      "td",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "btn btn--danger btn--small",
          disabled: isRefunded || canceled,
          hidden: !mayUse("operator"),
          onclick: () => dialog.open(ticket, reload),
        },
        "Refund",
      ),
    ),
  );
}

/** A modal confirmation; Escape or Cancel closes it without refunding. */
function refundDialog() {
  const summary = h("p", {});
  const alert = h("div", { class: "form-alert" });
  const confirm = h("button", { type: "button", class: "btn btn--danger" }, "Refund ticket");
  const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
  const element = h(
    "dialog",
    { class: "dialog", "aria-labelledby": "refund-title" },
    h("h2", { id: "refund-title" }, "Refund this ticket?"),
    summary,
    h("p", { class: "muted" }, "The receipt is voided and the payment refunded. This cannot be undone."),
    alert,
    h("div", { class: "dialog__actions" }, cancel, confirm),
  );
  let current = null;
  cancel.addEventListener("click", () => element.close());
  confirm.addEventListener("click", async () => {
    const { ticket, reload } = current;
    confirm.disabled = true;
    confirm.textContent = "Refunding…";
    alert.replaceChildren();
    try {
      await api.refundTicket(ticket.ticket_id);
      markRequested(ticket.ticket_id);
      element.close();
      toast(`Refund requested for ticket ${ticket.ticket_id}.`);
      reload();
    } catch (error) {
      alert.replaceChildren(h("div", { class: "alert alert--error", role: "alert" }, error.message));
    } finally {
      confirm.disabled = false;
      confirm.textContent = "Refund ticket";
    }
  });
  return {
    element,
    open(ticket, reload) {
      current = { ticket, reload };
      alert.replaceChildren();
      replace(
        summary,
        "Ticket ",
        h("span", { class: "mono" }, ticket.ticket_id),
        ` (${formatPrice(ticket.price.amount, ticket.price.currency)}, ${ticket.customer_email}).`,
      );
      element.showModal();
      cancel.focus();
    },
  };
}
