import test from "ava";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startTestSystem, type TestSystem } from "../support/system.ts";
import { parsePrometheusText } from "./prometheus-text.ts";

const deploy = join(import.meta.dirname, "../../deploy");

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem();
});
test.after.always(async () => {
  await sys?.stop();
});

/** Metric names a PromQL expression reads: identifiers with an underscore that are not functions or labels. */
function metricsOf(expression: string): string[] {
  const notMetrics = new Set(["clamp_min", "histogram_quantile"]);
  const names = expression.replace(/\{[^}]*\}/g, "").match(/[a-z][a-z0-9_]*_[a-z0-9_]+/g) ?? [];
  return names.filter((name) => !notMetrics.has(name)).map((name) => name.replace(/_bucket$/, ""));
}

test("every metric the Grafana dashboard plots is one /metrics exposes, and compose provisions the dashboard", async (t) => {
  const dashboard = JSON.parse(await readFile(join(deploy, "grafana/dashboards/tickets.json"), "utf8"));
  const expressions: string[] = dashboard.panels.flatMap((panel: { targets: { expr: string }[] }) =>
    panel.targets.map((target) => target.expr),
  );
  const plotted = new Set(expressions.flatMap(metricsOf));
  for (const wanted of ["jetstream_consumer_pending_messages", "outbox_pending_messages", "outbox_oldest_pending_age_seconds"])
    t.true(plotted.has(wanted), wanted);
  for (const wanted of ["messages_processing_failed_total", "dead_letter_messages", "http_requests_total"])
    t.true(plotted.has(wanted), wanted);

  const exposed = parsePrometheusText(await (await fetch(`${sys.url}/metrics`)).text());
  for (const name of plotted) t.true(exposed.has(name), `${name} is exposed`);

  // The compose stack mounts the dashboards where its provisioning file looks for them.
  const compose = await readFile(join(deploy, "../docker-compose.yml"), "utf8");
  t.regex(compose, /^ {2}grafana:$/m);
  t.true(compose.includes("- ./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro"));
  t.true(compose.includes("- ./deploy/grafana/provisioning:/etc/grafana/provisioning:ro"));
  const provider = await readFile(join(deploy, "grafana/provisioning/dashboards/tickets.yml"), "utf8");
  t.regex(provider, /^ {6}path: \/var\/lib\/grafana\/dashboards$/m);
});
