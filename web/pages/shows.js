import { api, listPath } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace, toast, uuid } from "../lib/dom.js";
import { field, formAlert, onSubmit, fieldValue } from "../lib/forms.js";
import { formatShowTime } from "../lib/format.js";
import { mayUse } from "../lib/session.js";
import { createPager } from "../lib/pager.js";

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

/** Shows per page of the list. */
const pageSize = 50;

/** The list, a page at a time by start time; "Upcoming only" (the default) leaves past shows out. */
async function loadShows(section, signal, upcoming = true) {
  const heading = h("h2", { id: "shows-list-title" }, "Shows");
  const toggle = h("input", { type: "checkbox", id: "shows-upcoming", checked: upcoming });
  toggle.addEventListener("change", () => loadShows(section, signal, toggle.checked));
  const head = h("div", { class: "card__head" }, heading, h("label", { class: "check", for: "shows-upcoming" }, toggle, " Upcoming only"));
  replace(section, head, loadingState("Loading shows…"));
  const body = h("tbody", {});
  const pager = createPager({ noun: "shows", signal, renderPage: (shows) => body.append(...shows.map(showRow)) });
  try {
    await pager.start(listPath("/api/shows", { upcoming: upcoming ? "true" : "", limit: pageSize }));
    if (body.childElementCount === 0) {
      replace(section, head, emptyState(upcoming ? "No upcoming shows yet." : "No shows yet.", "Create one with the form."));
      return;
    }
    replace(section, head, showsTable(body), pager.element);
  } catch (error) {
    if (error.name === "AbortError") return;
    replace(
      section,
      head,
      errorState(error, () => loadShows(section, signal, upcoming)),
    );
  }
}

function showsTable(body) {
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
        h("th", { class: "num" }, "Remaining"),
        h("th", {}, "Show ID"),
        h("th", {}, "Dead Nation ID"),
        h("th", { class: "actions" }, h("span", { class: "visually-hidden" }, "Actions")),
      ),
    ),
    body,
  );
}

function showRow(show) {
  return h(
    "tr",
    { dataset: { showId: show.show_id } },
    h("td", { "data-label": "Title", class: "strong" }, show.title),
    h("td", { "data-label": "Venue" }, show.venue),
    h("td", { "data-label": "Starts" }, formatShowTime(show.start_time)),
    h("td", { "data-label": "Tickets", class: "num" }, show.number_of_tickets),
    h("td", { "data-label": "Remaining", class: "num" }, show.available_tickets ?? "-"),
    h("td", { "data-label": "Show ID", class: "mono id" }, show.show_id),
    h("td", { "data-label": "Dead Nation ID", class: "mono id" }, show.dead_nation_id),
    h("td", { class: "actions" }, h("a", { class: "btn btn--small", href: `#/sales?show_id=${show.show_id}` }, "Sales")),
  );
}
