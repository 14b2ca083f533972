// A tiny element builder: every value goes in as text or a property, never as HTML.

/**
 * h("button", { class: "btn", onclick: fn, dataset: { id } }, "Text", child)
 * Attributes named on* become listeners; `dataset` and `style` objects are assigned; null/false skip.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value == null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "class") element.className = value;
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/** The page heading block: title, a line of explanation, optional actions on the right. */
export function pageHeader(title, intro, ...actions) {
  return h(
    "div",
    { class: "page-header" },
    h("div", {}, h("h1", { tabindex: "-1" }, title), intro ? h("p", { class: "page-header__intro" }, intro) : null),
    actions.length ? h("div", { class: "page-header__actions" }, actions) : null,
  );
}

export const loadingState = (text) =>
  h("p", { class: "state state--loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), text);

export const emptyState = (title, ...hint) =>
  h("div", { class: "state state--empty" }, h("p", { class: "state__title" }, title), hint.length ? h("p", {}, hint) : null);

/** A failed load: the message and a retry button. */
export const errorState = (error, retry) =>
  h(
    "div",
    { class: "alert alert--error", role: "alert" },
    h("p", {}, h("strong", {}, "Could not load. "), error.message),
    retry ? h("button", { type: "button", class: "btn btn--small", onclick: retry }, "Try again") : null,
  );

/** A short-lived notice in the corner (success or failure). */
export function toast(message, kind = "success") {
  const container = document.getElementById("toasts");
  const item = h("div", { class: `toast toast--${kind}`, title: "Click to dismiss", onclick: () => item.remove() }, message);
  container.append(item);
  setTimeout(() => item.remove(), 8000);
}

/** Notices belong to the page that raised them: a new page starts without them. */
export function clearToasts() {
  document.getElementById("toasts")?.replaceChildren();
}

/** A random UUID v4; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
export function uuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
