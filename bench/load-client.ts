/**
 * The HTTP load generator of bench:http and bench:onsale, run as its own process so it does not
 * share an event loop with the servers it measures. Reads its settings as JSON from argv[2], prints
 * one JSON line. Every booking request gets a fresh Idempotency-Key and one of the given shows, as
 * real clients do.
 */
import { randomUUID } from "node:crypto";
import autocannon from "autocannon";

interface LoadSettings {
  url: string;
  connections: number;
  /** How long to run; ignored when `amount` is set. */
  durationSeconds: number;
  /** A fixed number of requests instead of a duration. */
  amount?: number;
  /** POST bodies are bookings of one seat on these shows, round robin; absent ⇒ `{}`. */
  showIds?: string[];
  /** Sent as the Authorization header, when access control is on. */
  authorization?: string;
}

const settings = JSON.parse(process.argv[2]!) as LoadSettings;
const authorization = settings.authorization ? { authorization: settings.authorization } : {};
let next = 0;
const result = await autocannon({
  url: settings.url,
  connections: settings.connections,
  ...(settings.amount ? { amount: settings.amount } : { duration: settings.durationSeconds }),
  requests: [
    {
      method: "POST",
      setupRequest: (request) => {
        const showId = settings.showIds?.[next++ % settings.showIds.length];
        const body = showId ? { show_id: showId, number_of_tickets: 1, customer_email: "bench@example.com" } : {};
        return {
          ...request,
          headers: { ...request.headers, ...authorization, "content-type": "application/json", "idempotency-key": randomUUID() },
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
    durationSeconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count ?? 0])),
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
