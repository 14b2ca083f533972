// Forms whose validation comes from the API: each `details[]` entry lands under its field.
import { h } from "./dom.js";

/**
 * A labelled field. `name` is the API's field path (e.g. "price.amount"); the error slot below the
 * control is where the API's message for that path appears.
 */
export function field(label, name, control, { hint, extra } = {}) {
  const id = `f-${name.replace(/[^a-z0-9]+/gi, "-")}`;
  control.id = id;
  control.name = name;
  const errorId = `${id}-error`;
  control.setAttribute("aria-describedby", errorId);
  return h(
    "div",
    { class: "field", dataset: { field: name } },
    h("label", { for: id }, label),
    extra ? h("div", { class: "field__row" }, control, extra) : control,
    hint ? h("p", { class: "field__hint" }, hint) : null,
    h("p", { class: "field__error", id: errorId, "aria-live": "polite" }),
  );
}

/** Clears every field error and the form-level alert. */
function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field__error")) slot.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  form.querySelector(".form-alert")?.replaceChildren();
}

/**
 * Shows an ApiError on the form. `fieldOf(path)` maps an API field path to this form's field
 * name (the Pending page sends one ticket, so "tickets.0.price.amount" is its "price.amount");
 * problems that match no field, and errors without details, go to the alert above the buttons.
 */
function showErrors(form, error, fieldOf = (path) => path) {
  const unplaced = [];
  const details = error.details?.length ? error.details : [];
  for (const detail of details) {
    const slot = form.querySelector(`[data-field="${CSS.escape(fieldOf(detail.field))}"]`);
    if (!slot) {
      unplaced.push(`${detail.field}: ${detail.message}`);
      continue;
    }
    const message = slot.querySelector(".field__error");
    message.textContent = message.textContent ? `${message.textContent}; ${detail.message}` : detail.message;
    slot.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
  }
  if (details.length === 0 || unplaced.length > 0) {
    const alert = form.querySelector(".form-alert");
    alert.replaceChildren(
      h(
        "div",
        { class: "alert alert--error", role: "alert" },
        details.length === 0
          ? error.message
          : h(
              "ul",
              {},
              unplaced.map((text) => h("li", {}, text)),
            ),
      ),
    );
  }
  form.querySelector('[aria-invalid="true"]')?.focus();
}

/** Puts a message under one field (for errors the API reports without details). */
export function showFieldError(form, name, message) {
  const slot = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  slot.querySelector(".field__error").textContent = message;
  const control = slot.querySelector("input, select, textarea");
  control?.setAttribute("aria-invalid", "true");
  control?.focus();
}

/**
 * Wires submit: clears old errors, disables the submit button and shows `busyLabel` while `onSubmit`
 * runs; an ApiError is shown with `onError(error)` deciding (return true when it handled it).
 */
export function onSubmit(form, busyLabel, handler, { fieldOf, onError } = {}) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    if (button.disabled) return;
    const label = button.textContent;
    clearErrors(form);
    button.disabled = true;
    button.textContent = busyLabel;
    form.setAttribute("aria-busy", "true");
    try {
      await handler();
    } catch (error) {
      if (!onError?.(error)) showErrors(form, error, fieldOf);
    } finally {
      button.disabled = false;
      button.textContent = label;
      form.removeAttribute("aria-busy");
    }
  });
}

export const formAlert = () => h("div", { class: "form-alert" });

/** The current value of a named control. */
export const fieldValue = (form, name) => form.elements.namedItem(name).value;
