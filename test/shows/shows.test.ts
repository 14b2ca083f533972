import test from "ava";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { ShowView } from "../../contracts/http.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";

let sys: TestSystem;
test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,shows" } });
});
test.after.always(async () => {
  await sys?.stop();
});

const show = (overrides: Record<string, unknown> = {}) => ({
  dead_nation_id: randomUUID(),
  number_of_tickets: 100,
  start_time: "2026-12-24T19:30:00Z",
  title: "The Christmas Show",
  venue: "Royal Albert Hall",
  ...overrides,
});
const showCount = async () => Number((await sys.node.runtime.db("shows").count({ n: "*" }))[0]!.n);

test.serial("GET /api/shows is [] when there are no shows", async (t) => {
  const response = await sys.http("GET", "/api/shows");
  t.is(response.status, 200);
  t.is(response.text, "[]");
});

test.serial("created shows are listed by start time, in UTC, with the seats still available", async (t) => {
  const late = show({ start_time: "2027-01-10T20:00:00+02:00", title: "Late" });
  const early = show({ start_time: "2026-12-01T18:00:00.250Z", title: "  Early  " });
  const lateResponse = await sys.http("POST", "/api/shows", late);
  t.is(lateResponse.status, 201);
  t.true(z.object({ show_id: z.uuid() }).strict().safeParse(lateResponse.body).success);
  const earlyResponse = await sys.http("POST", "/api/shows", early);
  t.is(earlyResponse.status, 201);

  const listed = await sys.http("GET", "/api/shows");
  t.is(listed.status, 200);
  t.true(z.array(ShowView.strict()).safeParse(listed.body).success, JSON.stringify(listed.body));
  t.deepEqual(listed.body, [
    {
      show_id: earlyResponse.body.show_id,
      dead_nation_id: early.dead_nation_id,
      number_of_tickets: 100,
      start_time: "2026-12-01T18:00:00.250Z",
      title: "Early",
      venue: early.venue,
      available_tickets: 100,
    },
    {
      show_id: lateResponse.body.show_id,
      dead_nation_id: late.dead_nation_id,
      number_of_tickets: 100,
      start_time: "2027-01-10T18:00:00.000Z",
      title: "Late",
      venue: late.venue,
      available_tickets: 100,
    },
  ]);
});

test.serial("available_tickets is capacity minus booked seats", async (t) => {
  const created = await sys.http("POST", "/api/shows", show({ number_of_tickets: 10, start_time: "2030-01-01T00:00:00Z" }));
  await sys.node.runtime.db("shows").where({ show_id: created.body.show_id }).update({ booked: 7 });
  const listed = (await sys.http("GET", "/api/shows")).body.find((s: { show_id: string }) => s.show_id === created.body.show_id);
  t.is(listed.number_of_tickets, 10);
  t.is(listed.available_tickets, 3);
});

test.serial("a created show's Location serves it: GET /api/shows/:show_id, 400 for a malformed id, 404 for an unknown one", async (t) => {
  const created = await sys.http("POST", "/api/shows", show({ title: "Located" }));
  t.is(created.status, 201);
  const location = created.headers.get("location");
  t.is(location, `/api/shows/${created.body.show_id}`);

  const fetched = await sys.http("GET", location!);
  t.is(fetched.status, 200);
  t.true(ShowView.strict().safeParse(fetched.body).success);
  t.like(fetched.body, { show_id: created.body.show_id, title: "Located", number_of_tickets: 100, available_tickets: 100 });

  t.deepEqual(await sys.http("GET", "/api/shows/not-a-uuid").then((r) => [r.status, r.body]), [400, { error: "invalid show ID format" }]);
  t.deepEqual(await sys.http("GET", `/api/shows/${randomUUID()}`).then((r) => [r.status, r.body]), [404, { error: "show not found" }]);
});

test.serial("a second show with the same dead_nation_id is 409 and not stored", async (t) => {
  const first = show();
  t.is((await sys.http("POST", "/api/shows", first)).status, 201);
  const before = await showCount();
  const duplicate = await sys.http("POST", "/api/shows", show({ dead_nation_id: first.dead_nation_id, title: "Other" }));
  t.is(duplicate.status, 409);
  t.deepEqual(duplicate.body, { error: "a show with this dead_nation_id already exists" });
  t.is(await showCount(), before);
});

test.serial("every invalid field is a 400 naming it, and nothing is stored", async (t) => {
  const before = await showCount();
  const cases: [Record<string, unknown>, string][] = [
    [show({ dead_nation_id: "not-a-uuid" }), "dead_nation_id"],
    [show({ dead_nation_id: undefined }), "dead_nation_id"],
    [show({ number_of_tickets: 0 }), "number_of_tickets"],
    [show({ number_of_tickets: -5 }), "number_of_tickets"],
    [show({ number_of_tickets: 2.5 }), "number_of_tickets"],
    [show({ number_of_tickets: "10" }), "number_of_tickets"],
    [show({ number_of_tickets: 10_000_000 }), "number_of_tickets"],
    [show({ start_time: "tomorrow" }), "start_time"],
    [show({ start_time: "2026-12-24" }), "start_time"],
    [show({ start_time: "2026-12-24T19:30:00" }), "start_time"],
    [show({ title: "" }), "title"],
    [show({ title: "   " }), "title"],
    [show({ title: "x".repeat(256) }), "title"],
    [show({ venue: undefined }), "venue"],
    [show({ venue: 42 }), "venue"],
  ];
  for (const [body, field] of cases) {
    const response = await sys.http("POST", "/api/shows", body);
    t.is(response.status, 400, `${field}: ${JSON.stringify(body)}`);
    t.is(typeof response.body.error, "string");
    t.true(
      response.body.details.some((d: { field: string }) => d.field === field),
      `${field}: ${JSON.stringify(response.body)}`,
    );
  }
  const malformed = await sys.http("POST", "/api/shows", "{nope");
  t.is(malformed.status, 400);
  t.deepEqual(malformed.body, { error: "malformed JSON body" });
  t.is(await showCount(), before);
});

test.serial("the same Idempotency-Key replays the first answer; another body with it is 422", async (t) => {
  const key = randomUUID();
  const body = show();
  const first = await sys.http("POST", "/api/shows", body, { "Idempotency-Key": key });
  t.is(first.status, 201);
  const before = await showCount();
  const replay = await sys.http("POST", "/api/shows", body, { "Idempotency-Key": key });
  t.is(replay.status, 201);
  t.deepEqual(replay.body, first.body);
  t.is(replay.headers.get("idempotent-replayed"), "true");
  t.is(replay.headers.get("location"), first.headers.get("location"));
  const other = await sys.http("POST", "/api/shows", show(), { "Idempotency-Key": key });
  t.is(other.status, 422);
  t.is(await showCount(), before);
});

test.serial("a call retried with the same request id (a Moleculer retry after a timeout) creates one show", async (t) => {
  const body = show();
  const meta = { requestId: randomUUID() };
  const { broker } = sys.node;
  const answers = await Promise.all([1, 2, 3].map(() => broker.call("shows.create", body, { meta, nodeID: broker.nodeID })));
  const ids = new Set(answers.map((a) => (a as { show_id: string }).show_id));
  t.is(ids.size, 1);
  t.is(Number((await sys.node.runtime.db("shows").where({ dead_nation_id: body.dead_nation_id }).count({ n: "*" }))[0]!.n), 1);
});
