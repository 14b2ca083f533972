import { api } from "../lib/api.js";
import { h, pageHeader, replace, toast, uuid } from "../lib/dom.js";
import { field, formAlert, onSubmit, showFieldError, fieldValue } from "../lib/forms.js";

const currencies = ["USD", "EUR", "GBP", "AUD", "CAD"];
/** Callbacks sent from this tab, newest first; kept for the session so the page can be left and revisited. */
const historyKey = "tickets.pending.sent";

export function mount(root, { query }) {
  const sentList = h("section", { class: "card", "aria-labelledby": "sent-title" });
  root.append(
    pageHeader(
      "Pending callbacks",
      "Simulate the partner (Dead Nation) confirming or cancelling a ticket: this sends what it would send to POST /api/tickets-status.",
    ),
    h(
      "div",
      { class: "layout-split" },
      h(
        "section",
        { class: "card", "aria-labelledby": "callback-title" },
        h("h2", { id: "callback-title" }, "Simulate external callback"),
        callbackForm(query, () => renderSent(sentList)),
      ),
      sentList,
    ),
  );
  renderSent(sentList);
}

function generateButton(input, label) {
  return h("button", { type: "button", class: "btn btn--ghost", onclick: () => (input.value = uuid()) }, label);
}

function callbackForm(query, onSent) {
  const ticketId = h("input", { type: "text", class: "mono", autocomplete: "off", spellcheck: false, value: uuid() });
  const idempotencyKey = h("input", { type: "text", class: "mono", autocomplete: "off", spellcheck: false, value: uuid() });
  const status = h("select", {}, h("option", { value: "confirmed" }, "Confirmed"), h("option", { value: "canceled" }, "Canceled"));
  const currency = h(
    "select",
    {},
    currencies.map((code) => h("option", { value: code, selected: code === "EUR" }, code)),
  );
  const form = h(
    "form",
    { class: "form", novalidate: true },
    field("Ticket ID", "ticket_id", ticketId, { extra: generateButton(ticketId, "Generate") }),
    field(
      "Booking ID",
      "booking_id",
      h("input", {
        type: "text",
        class: "mono",
        autocomplete: "off",
        spellcheck: false,
        value: query.get("booking_id") ?? "",
        placeholder: "the confirmation number of a booking",
      }),
    ),
    h(
      "div",
      { class: "form__row" },
      field("Status", "status", status),
      field(
        "Customer email",
        "customer_email",
        h("input", { type: "email", autocomplete: "off", value: query.get("customer_email") ?? "" }),
      ),
    ),
    h(
      "div",
      { class: "form__row" },
      field("Price amount", "price.amount", h("input", { type: "text", inputmode: "decimal", autocomplete: "off", value: "50.00" })),
      field("Currency", "price.currency", currency),
    ),
    field("Idempotency key", "idempotency_key", idempotencyKey, {
      hint: "Sending again with the same key replays the first answer and changes nothing; use Generate New for a new callback.",
      extra: generateButton(idempotencyKey, "Generate New"),
    }),
    formAlert(),
    h("div", { class: "form__actions" }, h("button", { type: "submit", class: "btn btn--primary" }, "Send callback")),
  );
  onSubmit(
    form,
    "Sending…",
    async () => {
      const ticket = {
        ticket_id: fieldValue(form, "ticket_id").trim(),
        booking_id: fieldValue(form, "booking_id").trim(),
        status: fieldValue(form, "status"),
        customer_email: fieldValue(form, "customer_email").trim(),
        price: { amount: fieldValue(form, "price.amount").trim(), currency: fieldValue(form, "price.currency") },
      };
      const key = idempotencyKey.value.trim();
      const response = await api.sendTicketStatus([ticket], key);
      const replayed = response.headers.get("Idempotent-Replayed") === "true";
      recordSent({ ...ticket, idempotency_key: key, replayed, sent_at: new Date().toISOString() });
      toast(
        replayed
          ? "Replayed: this key was already used with this callback, nothing changed."
          : `Callback accepted: ticket ${ticket.ticket_id} ${ticket.status}.`,
      );
      onSent();
    },
    {
      fieldOf: (path) => path.replace(/^tickets\.0\./, ""),
      onError(error) {
        if (!error.details?.length && /idempotency/i.test(error.message)) {
          showFieldError(form, "idempotency_key", error.message);
          return true;
        }
        return false;
      },
    },
  );
  return form;
}

function readSent() {
  try {
    return JSON.parse(sessionStorage.getItem(historyKey) ?? "[]");
  } catch {
    return [];
  }
}

function recordSent(entry) {
  sessionStorage.setItem(historyKey, JSON.stringify([entry, ...readSent()].slice(0, 20)));
}

function renderSent(section) {
  const sent = readSent();
  const heading = h("h2", { id: "sent-title" }, "Sent from this tab");
  if (sent.length === 0) {
    replace(section, heading, h("div", { class: "state state--empty" }, h("p", {}, "Nothing sent yet. Callbacks you send appear here.")));
    return;
  }
  replace(
    section,
    heading,
    h(
      "ul",
      { class: "sent-list" },
      sent.map((entry) =>
        h(
          "li",
          { dataset: { ticketId: entry.ticket_id } },
          h("span", { class: `badge badge--${entry.status === "confirmed" ? "ok" : "warn"}` }, entry.status),
          entry.replayed ? h("span", { class: "badge" }, "replayed") : null,
          h("span", { class: "mono id" }, entry.ticket_id),
          h(
            "span",
            { class: "muted" },
            `${entry.price.amount} ${entry.price.currency} · ${entry.customer_email} · key ${entry.idempotency_key}`,
          ),
        ),
      ),
    ),
  );
}
