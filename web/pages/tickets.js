import { api } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace, toast } from "../lib/dom.js";
import { formatPrice, formatTime, isSet } from "../lib/format.js";
import { mayUse } from "../lib/session.js";

/** Tickets whose refund was requested from this tab and is not yet visible in the ops report. */
const requestedKey = "tickets.refunds.requested";

export function mount(root, { signal }) {
  const section = h("section", { class: "card" });
  const dialog = refundDialog();
  const reload = () => load(section, dialog, signal);
  root.append(
    pageHeader(
      "Tickets",
      "Tickets the partner confirmed. A refund voids the receipt and refunds the payment.",
      h("button", { type: "button", class: "btn", onclick: reload }, "Refresh"),
    ),
    section,
    dialog.element,
  );
  reload();
}

function readRequested() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(requestedKey) ?? "[]"));
  } catch {
    return new Set();
  }
}
const markRequested = (ticketId) => sessionStorage.setItem(requestedKey, JSON.stringify([...readRequested().add(ticketId)]));

/** refunded_at per ticket from the ops report; null when the report cannot be read (status then unknown). */
async function refundTimes(signal) {
  try {
    const { data } = await api.listOpsBookings("", signal);
    const times = new Map();
    for (const booking of data ?? [])
      for (const [ticketId, ticket] of Object.entries(booking.tickets ?? {})) times.set(ticketId, ticket.refunded_at);
    return times;
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return null;
  }
}

async function load(section, dialog, signal) {
  replace(section, loadingState("Loading tickets…"));
  try {
    const [tickets, refunded] = await Promise.all([api.listTickets(signal), refundTimes(signal)]);
    if (tickets.length === 0) {
      replace(
        section,
        emptyState(
          "No tickets yet. Book some tickets first!",
          "Tickets appear here once the partner confirms them (",
          h("a", { href: "#/pending" }, "Pending callbacks"),
          ").",
        ),
      );
      return;
    }
    replace(
      section,
      ticketsTable(tickets, refunded, dialog, () => load(section, dialog, signal)),
      refunded ? null : h("p", { class: "muted small" }, "Refund status is unavailable: the ops report could not be read."),
    );
  } catch (error) {
    if (error.name === "AbortError") return;
    replace(
      section,
      errorState(error, () => load(section, dialog, signal)),
    );
  }
}

function ticketsTable(tickets, refunded, dialog, reload) {
  const requested = readRequested();
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
    h(
      "tbody",
      {},
      tickets.map((ticket) => {
        const refundedAt = refunded?.get(ticket.ticket_id);
        const isRefunded = isSet(refundedAt);
        const status = isRefunded
          ? h("span", { class: "badge badge--danger", title: refundedAt }, `Refunded ${formatTime(refundedAt)}`)
          : requested.has(ticket.ticket_id)
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
                disabled: isRefunded,
                hidden: !mayUse("operator"),
                onclick: () => dialog.open(ticket, reload),
              },
              "Refund",
            ),
          ),
        );
      }),
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
