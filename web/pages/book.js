import { api } from "../lib/api.js";
import { emptyState, errorState, h, loadingState, pageHeader, replace, toast } from "../lib/dom.js";
import { field, formAlert, onSubmit, showFieldError, fieldValue } from "../lib/forms.js";
import { formatShowTime } from "../lib/format.js";

export function mount(root, { query, signal }) {
  const body = h("div", {}, loadingState("Loading shows…"));
  root.append(
    pageHeader("Book tickets", "Reserve seats for a customer. The partner confirms each ticket later (see Pending callbacks)."),
    body,
  );
  load(body, query.get("show_id"), signal);
}

async function load(container, preselectedShowId, signal) {
  replace(container, loadingState("Loading shows…"));
  try {
    const shows = await api.listShows(signal, { upcoming: true });
    if (shows.length === 0) {
      replace(
        container,
        h(
          "section",
          { class: "card" },
          emptyState("No upcoming shows to book.", "Create one on the ", h("a", { href: "#/shows" }, "Shows"), " page first."),
        ),
      );
      return;
    }
    replace(container, bookingForm(shows, preselectedShowId, signal));
  } catch (error) {
    if (error.name === "AbortError") return;
    replace(
      container,
      errorState(error, () => load(container, preselectedShowId, signal)),
    );
  }
}

const remainingOf = (show) => (typeof show.available_tickets === "number" ? show.available_tickets : null);

function bookingForm(initialShows, preselectedShowId, signal) {
  let shows = initialShows;
  const select = h("select", {});
  const availability = h("p", { class: "availability", "aria-live": "polite" });
  const result = h("div", { class: "result" });

  // Nothing is chosen for the user: booking the wrong show is worse than one more click.
  const fillOptions = (selectedId) => {
    replace(
      select,
      h("option", { value: "", disabled: true, selected: !shows.some((show) => show.show_id === selectedId) }, "Choose a show…"),
      shows.map((show) => {
        const remaining = remainingOf(show);
        const soldOut = remaining === 0 ? " (sold out)" : "";
        return h(
          "option",
          { value: show.show_id, selected: show.show_id === selectedId },
          `${show.title} @ ${show.venue} – ${formatShowTime(show.start_time)}${soldOut}`,
        );
      }),
    );
  };
  const showAvailability = () => {
    const show = shows.find((candidate) => candidate.show_id === select.value);
    if (!show) return replace(availability);
    const remaining = remainingOf(show);
    if (remaining === null) {
      replace(availability, "Capacity: ", h("strong", {}, show.number_of_tickets), " tickets (remaining seats unknown)");
      return;
    }
    availability.classList.toggle("availability--none", remaining === 0);
    replace(
      availability,
      "Available tickets: ",
      h("strong", { dataset: { remaining: String(remaining) } }, remaining),
      ` of ${show.number_of_tickets}`,
    );
  };
  const refreshShows = async () => {
    try {
      shows = await api.listShows(signal, { upcoming: true });
      const selected = select.value;
      fillOptions(selected);
      showAvailability();
    } catch (error) {
      if (error.name !== "AbortError") toast(`Could not refresh the shows: ${error.message}`, "error");
    }
  };

  fillOptions(preselectedShowId ?? "");
  select.addEventListener("change", showAvailability);
  showAvailability();

  const form = h(
    "form",
    { class: "form", novalidate: true },
    field("Show", "show_id", select),
    availability,
    h(
      "div",
      { class: "form__row" },
      field(
        "Number of tickets",
        "number_of_tickets",
        h("input", { type: "number", min: "1", step: "1", inputmode: "numeric", value: "1" }),
      ),
      field("Customer email", "customer_email", h("input", { type: "email", autocomplete: "off", placeholder: "customer@example.com" })),
    ),
    formAlert(),
    h("div", { class: "form__actions" }, h("button", { type: "submit", class: "btn btn--primary" }, "Book tickets")),
  );
  onSubmit(
    form,
    "Booking…",
    async () => {
      if (!select.value) {
        showFieldError(form, "show_id", "Choose a show");
        return;
      }
      const count = fieldValue(form, "number_of_tickets");
      const booking = {
        show_id: select.value,
        number_of_tickets: count === "" ? null : Number(count),
        customer_email: fieldValue(form, "customer_email").trim(),
      };
      const { booking_id: bookingId } = await api.bookTickets(booking);
      toast(`Booked ${booking.number_of_tickets} ticket(s). Confirmation number: ${bookingId}`);
      replace(result, bookingResult(bookingId, booking));
      await refreshShows();
    },
    {
      onError(error) {
        // The seat check answers without field details; its message belongs next to the count.
        if (error.status === 400 && !error.details?.length && /seat/i.test(error.message)) {
          showFieldError(form, "number_of_tickets", error.message);
          refreshShows();
          return true;
        }
        return false;
      },
    },
  );
  return h("div", { class: "layout-split" }, h("section", { class: "card" }, h("h2", {}, "New booking"), form), result);
}

function bookingResult(bookingId, booking) {
  const pendingLink = `#/pending?${new URLSearchParams({ booking_id: bookingId, customer_email: booking.customer_email })}`;
  return h(
    "section",
    { class: "card card--success", "aria-labelledby": "booking-done" },
    h("h2", { id: "booking-done" }, "Booking made"),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Confirmation number"),
      h("dd", { class: "mono id", dataset: { bookingId } }, bookingId),
      h("dt", {}, "Tickets"),
      h("dd", {}, booking.number_of_tickets),
      h("dt", {}, "Customer"),
      h("dd", {}, booking.customer_email),
    ),
    h(
      "p",
      {},
      "The partner now confirms each ticket. To simulate that, ",
      h("a", { href: pendingLink }, "send a confirmation on Pending callbacks"),
      ".",
    ),
  );
}
