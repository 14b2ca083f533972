import { listPage } from "./api.js";
import { h, replace } from "./dom.js";

/**
 * A list read a page at a time through the API's `Link: rel="next"`: the first page, then a
 * "Load more" button. A button rather than infinite scroll: the API's cursors only go forward, a
 * button keeps the footer and the filters reachable, works from the keyboard, and loads nothing
 * the user did not ask for. The count line says how many are shown and whether more exist.
 */
export function createPager({ noun, signal, renderPage }) {
  const count = h("p", { class: "pager__count", role: "status" });
  const more = h("button", { type: "button", class: "btn pager__more", hidden: true }, `Load more ${noun}`);
  const element = h("div", { class: "pager" }, count, more);
  let next = null;
  let shown = 0;
  let run = 0;

  const showCount = () => {
    replace(count, next ? `${shown} ${noun} shown · more available` : `${shown} ${noun} shown · that is all`);
    more.hidden = !next;
  };
  const load = async (path, first) => {
    const mine = run;
    more.disabled = true;
    more.textContent = "Loading…";
    try {
      const page = await listPage(path, { signal });
      if (mine !== run) return;
      renderPage(page.items, first);
      shown += page.items.length;
      next = page.next;
      showCount();
    } finally {
      more.disabled = false;
      more.textContent = `Load more ${noun}`;
    }
  };
  more.addEventListener("click", () =>
    load(next, false).catch((error) => {
      if (error.name !== "AbortError") replace(count, `${shown} ${noun} shown · could not load more: ${error.message}`);
    }),
  );

  return {
    element,
    /** Starts over at `path`; rejects when the first page cannot be read. */
    start(path) {
      run++;
      next = null;
      shown = 0;
      return load(path, true);
    },
  };
}
