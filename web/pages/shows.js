import { api } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace, toast, uuid } from "../lib/dom.js";
import { field, formAlert, onSubmit, fieldValue } from "../lib/forms.js";
import { formatShowTime } from "../lib/format.js";
import { mayUse } from "../lib/session.js";

export function mount(root, { signal }) {
  const listSection = h("section", { class: "card", "aria-labelledby": "shows-list-title" });
  // Viewers see the list; creating shows is an operator's work.
  const createSection = mayUse("operator")
    ? h(
        "section",
        { class: "card card--form", "aria-labelledby": "create-show-title" },
        h("h2", { id: "create-show-title" }, "Create a show"),
        createForm(() => loadShows(listSection, signal)),
      )
    : null;
  root.append(
    pageHeader("Shows", "Create a show, then sell its seats on the Book tickets page."),
    h("div", { class: "stack" }, createSection, listSection),
  );
  loadShows(listSection, signal);
}

function createForm(reload) {
  const deadNationId = h("input", { type: "text", autocomplete: "off", spellcheck: false, class: "mono", value: uuid() });
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h(
      "div",
      { class: "form__row" },
      field("Title", "title", h("input", { type: "text", autocomplete: "off", placeholder: "e.g. The Ramones tribute" })),
      field("Venue", "venue", h("input", { type: "text", autocomplete: "off", placeholder: "e.g. Brixton Academy" })),
    ),
    h(
      "div",
      { class: "form__row" },
      field(
        "Number of tickets",
        "number_of_tickets",
        h("input", { type: "number", min: "1", step: "1", inputmode: "numeric", value: "100" }),
      ),
      field("Start time", "start_time", h("input", { type: "datetime-local" }), { hint: "Your local time; sent as UTC." }),
    ),
    field("Dead Nation ID", "dead_nation_id", deadNationId, {
      hint: "The partner's id of this event.",
      extra: h("button", { type: "button", class: "btn btn--ghost", onclick: () => (deadNationId.value = uuid()) }, "Generate"),
    }),
    formAlert(),
    h("div", { class: "form__actions" }, h("button", { type: "submit", class: "btn btn--primary" }, "Create show")),
  );
  onSubmit(form, "Creating…", async () => {
    const tickets = fieldValue(form, "number_of_tickets");
    const startTime = fieldValue(form, "start_time");
    const show = {
      title: fieldValue(form, "title").trim(),
      venue: fieldValue(form, "venue").trim(),
      number_of_tickets: tickets === "" ? null : Number(tickets),
      start_time: startTime ? new Date(startTime).toISOString() : "",
      dead_nation_id: fieldValue(form, "dead_nation_id").trim(),
    };
    const created = await api.createShow(show);
    toast(`Show “${show.title}” created (${created?.show_id ?? "no id returned"}).`);
    form.reset();
    deadNationId.value = uuid();
    await reload();
  });
  return form;
}

async function loadShows(section, signal) {
  const heading = h("h2", { id: "shows-list-title" }, "All shows");
  replace(section, heading, loadingState("Loading shows…"));
  try {
    const shows = await api.listShows(signal);
    if (shows.length === 0) {
      replace(section, heading, emptyState("No shows yet.", "Create the first one with the form."));
      return;
    }
    replace(section, heading, showsTable(shows));
  } catch (error) {
    if (error.name === "AbortError") return;
    replace(
      section,
      heading,
      errorState(error, () => loadShows(section, signal)),
    );
  }
}

function showsTable(shows) {
  const hasRemaining = shows.some((show) => typeof show.available_tickets === "number");
  return h(
    "table",
    { class: "table table--stack" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", {}, "Title"),
        h("th", {}, "Venue"),
        h("th", {}, "Starts"),
        h("th", { class: "num" }, "Tickets"),
        hasRemaining ? h("th", { class: "num" }, "Remaining") : null,
        h("th", {}, "Show ID"),
        h("th", {}, "Dead Nation ID"),
      ),
    ),
    h(
      "tbody",
      {},
      shows.map((show) =>
        h(
          "tr",
          { dataset: { showId: show.show_id } },
          h("td", { "data-label": "Title", class: "strong" }, show.title),
          h("td", { "data-label": "Venue" }, show.venue),
          h("td", { "data-label": "Starts" }, formatShowTime(show.start_time)),
          h("td", { "data-label": "Tickets", class: "num" }, show.number_of_tickets),
          hasRemaining ? h("td", { "data-label": "Remaining", class: "num" }, show.available_tickets ?? "-") : null,
          h("td", { "data-label": "Show ID", class: "mono id" }, show.show_id),
          h("td", { "data-label": "Dead Nation ID", class: "mono id" }, show.dead_nation_id),
        ),
      ),
    ),
  );
}
