import { api } from "./api.js";
import { h } from "./dom.js";
import { formatShowTime } from "./format.js";

// Shows by id, read once per page load: reports name the show of each booking.
const byId = new Map();

/** The show (or null when it cannot be read); cached, so many cards of one show cost one request. */
export function showOf(showId) {
  if (!showId) return Promise.resolve(null);
  if (!byId.has(showId)) {
    byId.set(
      showId,
      api.getShow(showId).catch(() => {
        byId.delete(showId);
        return null;
      }),
    );
  }
  return byId.get(showId);
}

export const showLabel = (show) => `${show.title} · ${show.venue} · ${formatShowTime(show.start_time)}`;

/** A select of shows with a first "any" option; `selectedId` is chosen when listed. */
export function showSelect({ id, name = "show_id", shows, selectedId = "", anyLabel = "Any show" }) {
  return h(
    "select",
    { id, name },
    h("option", { value: "" }, anyLabel),
    shows.map((show) => h("option", { value: show.show_id, selected: show.show_id === selectedId }, showLabel(show))),
  );
}
