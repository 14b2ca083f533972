/**
 * The HTTP load generator of bench:http, run as its own process so it does not share an event
 * loop with the servers it measures. Reads its settings as JSON from argv[2], prints one JSON line.
 * Every booking request gets a fresh Idempotency-Key and one of the given shows, as real clients do.
 */
import { randomUUID } from "node:crypto";
import autocannon from "autocannon";

interface LoadSettings {
  url: string;
  connections: number;
  durationSeconds: number;
  /** POST bodies are bookings of one seat on these shows, round robin; absent ⇒ `{}`. */
  showIds?: string[];
}

const settings = JSON.parse(process.argv[2]!) as LoadSettings;
let next = 0;
const result = await autocannon({
  url: settings.url,
  connections: settings.connections,
  duration: settings.durationSeconds,
  requests: [
    {
      method: "POST",
      setupRequest: (request) => {
        const showId = settings.showIds?.[next++ % settings.showIds.length];
        const body = showId ? { show_id: showId, number_of_tickets: 1, customer_email: "bench@example.com" } : {};
        return {
          ...request,
          headers: { ...request.headers, "content-type": "application/json", "idempotency-key": randomUUID() },
          body: JSON.stringify(body),
        };
      },
    },
  ],
});
console.log(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0])),
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
