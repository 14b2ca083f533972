import { api } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace } from "../lib/dom.js";
import { formatShowTime } from "../lib/format.js";
import { funnelChart, soldOverTimeChart } from "../lib/sales-chart.js";
import { showSelect } from "../lib/shows.js";

/** Sales of one show: tickets sold over time against capacity, and how far its tickets got. */
export function mount(root, { query, signal }) {
  const showId = query.get("show_id") ?? "";
  const picker = h("div", {});
  const body = h("div", { class: "sales" });
  root.append(pageHeader("Sales", "Tickets sold over time, seats left, and how far fulfilment has got, per show."), picker, body);
  load(picker, body, showId, signal);
}

async function load(picker, body, showId, signal) {
  replace(body, loadingState("Loading shows…"));
  try {
    const shows = await api.listShows(signal);
    if (shows.length === 0) {
      replace(
        body,
        h("section", { class: "card" }, emptyState("No shows yet.", "Create one on the ", h("a", { href: "#/shows" }, "Shows"), " page.")),
      );
      return;
    }
    const select = showSelect({ id: "sales-show", shows, selectedId: showId, anyLabel: "Choose a show…" });
    select.addEventListener("change", () => (location.hash = select.value ? `#/sales?show_id=${select.value}` : "#/sales"));
    replace(picker, h("div", { class: "filter card" }, h("label", { for: "sales-show" }, "Show"), select));
    if (!showId) {
      replace(body, h("section", { class: "card" }, emptyState("Choose a show to see its sales.")));
      return;
    }
    replace(body, loadingState("Loading sales…"));
    const [show, sales] = await Promise.all([api.getShow(showId, signal), api.showSales(showId, signal)]);
    replace(body, salesPicture(show, sales));
  } catch (error) {
    if (error.name === "AbortError") return;
    replace(
      body,
      errorState(error, () => load(picker, body, showId, signal)),
    );
  }
}

function salesPicture(show, sales) {
  const sold = show.number_of_tickets - show.available_tickets;
  return [
    h(
      "section",
      { class: "card" },
      h("h2", {}, show.title),
      h("p", { class: "muted" }, `${show.venue} · ${formatShowTime(show.start_time)}`),
      h(
        "dl",
        { class: "stats" },
        stat("Seats booked", sold, "booked"),
        stat("Seats left", show.available_tickets, "left"),
        stat("Tickets confirmed", sales.funnel.confirmed, "confirmed"),
      ),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "sold-heading" },
      h("h2", { id: "sold-heading" }, "Tickets sold over time"),
      sales.sold_over_time.length
        ? soldOverTimeChart(sales.sold_over_time, show.number_of_tickets)
        : emptyState("No tickets confirmed yet.", "The curve starts with the partner's first confirmation."),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "funnel-heading" },
      h("h2", { id: "funnel-heading" }, "Fulfilment"),
      h("p", { class: "muted small" }, "Confirmed → printed → receipt → refunded; the median is the time from confirmation to that step."),
      funnelChart(sales.funnel),
    ),
  ];
}

const stat = (label, value, key) => h("div", { class: "stat", dataset: { stat: key } }, h("dt", {}, label), h("dd", {}, value));
