import { h, pageHeader } from "../lib/dom.js";
import { signIn } from "../lib/session.js";

/** The sign-in form; on success the router shows the page the user asked for. */
export function mount(root, { onSignedIn }) {
  const alert = h("div", { class: "form-alert", role: "alert" });
  const username = h("input", { id: "sign-in-username", name: "username", type: "text", autocomplete: "username", required: true });
  const password = h("input", {
    id: "sign-in-password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "btn btn--primary" }, "Sign in");
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h("div", { class: "field" }, h("label", { class: "field__label", for: "sign-in-username" }, "User name"), username),
    h("div", { class: "field" }, h("label", { class: "field__label", for: "sign-in-password" }, "Password"), password),
    alert,
    h("div", { class: "form__actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.replaceChildren();
    submit.disabled = true;
    try {
      await signIn(username.value.trim(), password.value);
      onSignedIn();
    } catch (error) {
      alert.replaceChildren(h("p", { class: "alert alert--error" }, error.message));
      password.value = "";
    } finally {
      submit.disabled = false;
    }
  });
  root.append(
    pageHeader("Sign in", "Staff only. Ask an admin for an account (npm run users -- add …)."),
    h("section", { class: "card card--form", "aria-labelledby": "sign-in-title" }, h("h2", { id: "sign-in-title" }, "Your account"), form),
  );
  username.focus();
}
