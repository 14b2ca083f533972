import test from "ava";
import { startTestSystem, type TestSystem } from "../support/system.ts";

// The api-gateway serves the UI at "/" beside the API: files of web/, the shell for UI page paths,
// and JSON 404s for everything that is neither.

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const isShell = (text: string) => text.includes('<script type="module" src="/app.js">');

test("/ and UI page paths such as /app/shows answer the shell as HTML", async (t) => {
  for (const path of ["/", "/app/shows", "/app/ops", "/somewhere/else"]) {
    const response = await sys.http("GET", path);
    t.is(response.status, 200, path);
    t.is(response.headers.get("content-type"), "text/html; charset=utf-8", path);
    t.true(isShell(response.text), path);
  }
});

test("files of web/ are served with their content types", async (t) => {
  const script = await sys.http("GET", "/app.js");
  t.is(script.status, 200);
  t.regex(script.headers.get("content-type") ?? "", /^text\/javascript/);
  t.true(script.text.includes("hashchange"));
  const page = await sys.http("GET", "/pages/ops.js");
  t.is(page.status, 200);
  const styles = await sys.http("GET", "/styles.css");
  t.is(styles.status, 200);
  t.regex(styles.headers.get("content-type") ?? "", /^text\/css/);
});

test("unknown /api paths and missing files stay JSON 404s, not the shell", async (t) => {
  for (const path of ["/api/nope", "/api/app/shows", "/api", "/missing.js", "/pages/missing.js"]) {
    const response = await sys.http("GET", path);
    t.is(response.status, 404, path);
    t.is(response.headers.get("content-type"), "application/json; charset=utf-8", path);
    t.deepEqual(response.body, { error: "Not found" }, path);
  }
  const post = await sys.http("POST", "/app/shows", {});
  t.is(post.status, 404);
  t.deepEqual(post.body, { error: "Not found" });
});

test("the API, /health, /ready and /metrics still answer as themselves", async (t) => {
  const tickets = await sys.http("GET", "/api/tickets");
  t.is(tickets.status, 200);
  t.deepEqual(tickets.body, []);
  const health = await sys.http("GET", "/health");
  t.is(health.status, 200);
  t.is(health.text, "ok");
  const ready = await sys.http("GET", "/ready");
  t.is(ready.status, 200);
  t.is(ready.body.ready, true);
  const metrics = await sys.http("GET", "/metrics");
  t.is(metrics.status, 200);
  t.regex(metrics.headers.get("content-type") ?? "", /^text\/plain/);
  t.regex(metrics.text, /^# (HELP|TYPE) /m);
});
