// Who the console is signed in as, and the CSRF token every change must carry (GET /api/session).
// In development mode (nothing configured on the server) there is no one to sign in and every page is open.

const ranks = { viewer: 0, operator: 1, admin: 2 };
let current = { mode: "development", user: null, role: "admin", csrfToken: null };

export const session = () => current;

/** True when the signed-in role may use what `role` may (a missing role: nothing). */
export const mayUse = (role) => current.role != null && ranks[current.role] >= ranks[role];

export const needsSignIn = () => current.mode !== "development" && current.user === null && current.role === null;

function remember(data) {
  current = { mode: data.mode, user: data.user, role: data.role, csrfToken: data.csrf_token ?? null };
  return current;
}

export function forget() {
  current = { mode: "enforced", user: null, role: null, csrfToken: null };
  return current;
}

export async function loadSession() {
  const response = await fetch("/api/session", { headers: { Accept: "application/json" } });
  if (response.status === 401) return forget();
  if (!response.ok) throw new Error(`The session could not be read (HTTP ${response.status}).`);
  return remember(await response.json());
}

/** Resolves with the session, or rejects with the server's message (wrong password, too many attempts). */
export async function signIn(username, password) {
  const response = await fetch("/api/session", {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error ?? `Sign-in failed (HTTP ${response.status}).`);
  return remember(data);
}

export async function signOut() {
  await fetch("/api/session", { method: "DELETE", headers: current.csrfToken ? { "X-CSRF-Token": current.csrfToken } : {} });
  return forget();
}
