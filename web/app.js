// The hash router: #/<page>?<query>. Each page module exports mount(root, { query, signal }).
// A page names the least role that may use it; the nav shows only the signed-in role's pages.
import * as shows from "./pages/shows.js";
import * as book from "./pages/book.js";
import * as pending from "./pages/pending.js";
import * as tickets from "./pages/tickets.js";
import * as ops from "./pages/ops.js";
import * as signInPage from "./pages/sign-in.js";
import * as sales from "./pages/sales.js";
import { clearToasts } from "./lib/dom.js";
import { loadSession, mayUse, needsSignIn, session, signOut } from "./lib/session.js";

const pages = {
  shows: { title: "Shows", module: shows, role: "viewer" },
  book: { title: "Book tickets", module: book, role: "operator" },
  pending: { title: "Pending callbacks", module: pending, role: "operator" },
  tickets: { title: "Tickets", module: tickets, role: "viewer" },
  ops: { title: "Ops report", module: ops, role: "viewer" },
  sales: { title: "Sales", module: sales, role: "viewer" },
};
const defaultPage = "shows";
const signInRoute = "sign-in";

const root = document.getElementById("main");
let leaving = null;

/** "#/ops?receipt_issue_date=2026-11-26" → { name: "ops", query } */
function parseHash() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: path.split("/")[0], query: new URLSearchParams(search) };
}

/** The nav and the header's user line for the current session. */
function showSession() {
  for (const link of document.querySelectorAll(".site-nav a")) link.hidden = !mayUse(pages[link.dataset.route].role);
  const { user } = session();
  const userLine = document.getElementById("site-user");
  userLine.hidden = user === null;
  document.getElementById("site-user-name").textContent = user ? `${user.username} (${user.role})` : "";
}

function mountPage(name, title, mount) {
  leaving?.abort();
  leaving = new AbortController();
  document.title = `${title} · Tickets`;
  for (const link of document.querySelectorAll(".site-nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  root.replaceChildren();
  clearToasts();
  root.dataset.page = name;
  mount(leaving.signal);
  root.querySelector("h1")?.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function render() {
  const { name, query } = parseHash();
  showSession();
  if (needsSignIn()) {
    const wanted = name === signInRoute ? defaultPage : name;
    mountPage(signInRoute, "Sign in", () =>
      signInPage.mount(root, { onSignedIn: () => (location.hash === `#/${wanted}` ? render() : location.replace(`#/${wanted}`)) }),
    );
    return;
  }
  const page = pages[name];
  if (!page || !mayUse(page.role)) {
    const allowed = Object.keys(pages).find((candidate) => mayUse(pages[candidate].role)) ?? defaultPage;
    location.replace(`#/${pages[defaultPage] && mayUse(pages[defaultPage].role) ? defaultPage : allowed}`);
    return;
  }
  mountPage(name, page.title, (signal) => page.module.mount(root, { query, signal }));
}

// The original's links were paths (/app/shows); the gateway serves this shell for any page path,
// which becomes the matching hash route on "/".
if (location.pathname !== "/") {
  const legacy = location.pathname.match(/^\/app\/([a-z]+)/)?.[1];
  const hash = location.hash || `#/${pages[legacy] ? legacy : defaultPage}`;
  history.replaceState(null, "", `/${hash}`);
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await signOut();
  render();
});
// The API answered 401 (the session expired or was ended elsewhere): ask who we are again.
window.addEventListener("tickets:unauthorized", () => loadSession().then(render));
window.addEventListener("hashchange", render);
loadSession().then(render, (error) => {
  root.replaceChildren(document.createTextNode(error.message));
});
