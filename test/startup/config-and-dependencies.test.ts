import test from "ava";
import { ConfigError, loadConfig, servicesOf } from "../../config/index.ts";
import { startNode } from "../../node/start-node.ts";
import { DependencyError } from "../../lib/runtime.ts";

test("defaults work against the local servers", (t) => {
  const config = loadConfig({});
  t.is(config.PORT, 8080);
  t.is(config.POSTGRES_URL, "postgres://postgres@127.0.0.1:5432/test");
  t.deepEqual(config.SERVICES, ["all"]);
  t.deepEqual(config.CONSUMER_BACKOFF_MS, [400, 800, 1000]);
  t.is(config.GATEWAY_URL, undefined);
});

test("a bad value stops start-up with one line naming the variable", (t) => {
  const error = t.throws(() => loadConfig({ PORT: "eighty", NATS_URL: "nats://x" }), { instanceOf: ConfigError });
  t.regex(error!.message, /^invalid configuration: PORT: /);
  t.false(error!.message.includes("\n"));
  t.throws(() => loadConfig({ SERVICES: "tickets,billing" }), { message: /SERVICES: unknown billing/ });
  t.throws(() => loadConfig({ CONSUMER_BACKOFF_MS: "400,soon" }), { message: /CONSUMER_BACKOFF_MS/ });
  t.throws(() => loadConfig({ GATEWAY_TIMEOUT_MS: "60000" }), { message: /GATEWAY_TIMEOUT_MS/ });
});

test("SERVICES takes the Moleculer service names and the short alias api; an unknown name lists both", (t) => {
  t.deepEqual(servicesOf(loadConfig({ SERVICES: "api-gateway,bookings" })), ["api-gateway", "bookings"]);
  t.deepEqual(servicesOf(loadConfig({ SERVICES: "api,api-gateway,tickets" })), ["api-gateway", "tickets"]);
  t.is(servicesOf(loadConfig({ SERVICES: "all" })).length, 8);
  const error = t.throws(() => loadConfig({ SERVICES: "gateway" }), { instanceOf: ConfigError });
  t.regex(error!.message, /unknown gateway \(known: api-gateway, tickets, .*; aliases: api for api-gateway\)/);
});

test("an unreachable dependency is one clear error naming it, without credentials", async (t) => {
  const config = loadConfig({
    POSTGRES_URL: "postgres://app:secret@127.0.0.1:1/none",
    LOG_LEVEL: "fatal",
    PORT: "0",
    GATEWAY_URL: "http://127.0.0.1:1",
  });
  const error = await t.throwsAsync(startNode(config), { instanceOf: DependencyError });
  t.regex(error!.message, /^cannot reach Postgres at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/none: .*docker compose up -d postgres/);
  t.false(error!.message.includes("secret"));

  const noNats = loadConfig({ NATS_URL: "nats://127.0.0.1:1", LOG_LEVEL: "fatal", PORT: "0", GATEWAY_URL: "http://127.0.0.1:1" });
  await t.throwsAsync(startNode(noNats), { instanceOf: DependencyError, message: /^cannot reach NATS at nats:\/\/127\.0\.0\.1:1/ });
});
