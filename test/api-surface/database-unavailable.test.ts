import test from "ava";
import pg from "pg";
import { isDatabaseUnavailable } from "../../middlewares/database-outage.middleware.ts";
import { statusOf } from "../../lib/http/error-body.ts";

/** Every shape an error takes on its way from a Postgres that stops or restarts, as pg and knex raise them. */
const outageShapes: [string, unknown][] = [
  ["connection refused", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
  ["connection reset", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
  [
    "administrator shutdown (57P01)",
    Object.assign(new pg.DatabaseError("terminating connection due to administrator command", 0, "error"), { code: "57P01" }),
  ],
  [
    "crash shutdown (57P02)",
    Object.assign(new Error("terminating connection because of crash of another server process"), { code: "57P02" }),
  ],
  ["starting up (57P03)", Object.assign(new Error("the database system is starting up"), { code: "57P03" })],
  ["too many connections (53300)", Object.assign(new Error("sorry, too many clients already"), { code: "53300" })],
  ["connection failure (08006)", Object.assign(new Error("connection failure"), { code: "08006" })],
  ["died mid-statement", new Error("Connection terminated unexpectedly")],
  ["a knex ROLLBACK on the broken client", new Error("ROLLBACK - Client has encountered a connection error and is not queryable")],
  ["a query on a closed client", new Error("Client was closed and is not queryable")],
  ["pg connect timeout", new Error("timeout exceeded when trying to connect")],
  [
    "knex pool acquire timeout",
    Object.assign(new Error("Knex: Timeout acquiring a connection. The pool is probably full."), { name: "KnexTimeoutError" }),
  ],
  [
    "wrapped as a cause",
    new Error("transaction failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) }),
  ],
  [
    "a dual-stack refusal (AggregateError)",
    new AggregateError([Object.assign(new Error("connect ECONNREFUSED ::1:5432"), { code: "ECONNREFUSED" })], ""),
  ],
];

for (const [shape, error] of outageShapes) {
  test(`a Postgres outage seen as "${shape}" is classified as the database being unavailable`, (t) => {
    t.true(isDatabaseUnavailable(error));
  });
}

test("errors that are not an outage stay what they are", (t) => {
  t.false(isDatabaseUnavailable(Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" })));
  t.false(isDatabaseUnavailable(Object.assign(new Error('relation "nope" does not exist'), { code: "42P01" })));
  t.false(isDatabaseUnavailable(new TypeError("Cannot read properties of undefined")));
  t.false(isDatabaseUnavailable(undefined));
});

test("a routed call that found no live endpoint or timed out is 503 (the cluster's trouble), not a 404 naming the action or a 500", (t) => {
  t.is(statusOf({ code: 404, type: "SERVICE_NOT_FOUND", message: "Service 'bookings.book' is not found." }), 503);
  t.is(statusOf({ code: 404, type: "SERVICE_NOT_AVAILABLE", message: "Service 'bookings.book' is not available." }), 503);
  t.is(statusOf({ code: 504, type: "REQUEST_TIMEOUT", message: "Request is timed out" }), 503);
  t.is(statusOf({ code: 404, type: "NOT_FOUND", message: "show not found" }), 404);
});
