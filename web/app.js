// The hash router: #/<page>?<query>. Each page module exports mount(root, { query, signal }).
import * as shows from "./pages/shows.js";
import * as book from "./pages/book.js";
import * as pending from "./pages/pending.js";
import * as tickets from "./pages/tickets.js";
import * as ops from "./pages/ops.js";
import * as sales from "./pages/sales.js";
import { clearToasts } from "./lib/dom.js";

const pages = {
  shows: { title: "Shows", module: shows },
  book: { title: "Book tickets", module: book },
  pending: { title: "Pending callbacks", module: pending },
  tickets: { title: "Tickets", module: tickets },
  ops: { title: "Ops report", module: ops },
  sales: { title: "Sales", module: sales },
};
const defaultPage = "shows";

const root = document.getElementById("main");
let leaving = null;

/** "#/ops?receipt_issue_date=2026-11-26" → { name: "ops", query } */
function parseHash() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: path.split("/")[0], query: new URLSearchParams(search) };
}

function render() {
  const { name, query } = parseHash();
  const page = pages[name];
  if (!page) {
    location.replace(`#/${defaultPage}`);
    return;
  }
  leaving?.abort();
  leaving = new AbortController();
  document.title = `${page.title} · Tickets`;
  for (const link of document.querySelectorAll(".site-nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  root.replaceChildren();
  clearToasts();
  root.dataset.page = name;
  page.module.mount(root, { query, signal: leaving.signal });
  root.querySelector("h1")?.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// The original's links were paths (/app/shows); the gateway serves this shell for any page path,
// which becomes the matching hash route on "/".
if (location.pathname !== "/") {
  const legacy = location.pathname.match(/^\/app\/([a-z]+)/)?.[1];
  const hash = location.hash || `#/${pages[legacy] ? legacy : defaultPage}`;
  history.replaceState(null, "", `/${hash}`);
}

window.addEventListener("hashchange", render);
render();
