import { randomBytes, randomUUID } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import test from "ava";
import { Redis } from "ioredis";
import {
  decodeWatermillEntry,
  decodeWatermillMetadata,
  encodeWatermillEntry,
  encodeWatermillMetadata,
} from "../../lib/redis-mirror/watermill.ts";
import { infrastructure } from "../support/infrastructure.ts";

const { redisUrl: REDIS_URL } = await infrastructure();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex").toUpperCase();

test("metadata {name: BookingMade_v1} is byte-exact with what Watermill's Go marshaller writes", (t) => {
  const bytes = encodeWatermillMetadata({ name: "BookingMade_v1" });
  t.is(hex(bytes).match(/../g)!.join(" "), "81 A4 6E 61 6D 65 AE 42 6F 6F 6B 69 6E 67 4D 61 64 65 5F 76 31");
});

test("metadata uses fixstr/str8/str16/str32 and fixmap/map16 like vmihailenco/msgpack", (t) => {
  const value = (length: number) => encodeWatermillMetadata({ a: "x".repeat(length) }).subarray(3);
  t.is(value(31)[0], 0xbf); // fixstr, longest
  t.is(hex(value(32).subarray(0, 2)), "D920"); // str8
  t.is(hex(value(255).subarray(0, 2)), "D9FF");
  t.is(hex(value(256).subarray(0, 3)), "DA0100"); // str16
  t.is(hex(value(65_536).subarray(0, 5)), "DB00010000"); // str32
  t.is(hex(encodeWatermillMetadata({ a: "" })), "81A161A0");

  const map = (size: number) => encodeWatermillMetadata(Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, "v"])));
  t.is(map(15)[0], 0x8f); // fixmap, largest
  t.is(hex(map(16).subarray(0, 3)), "DE0010"); // map16
  // Multi-byte UTF-8 is counted in bytes, as Go does.
  t.is(hex(encodeWatermillMetadata({ n: "é" })), "81A16EA2C3A9");
});

test("an entry has exactly the three Watermill fields, raw payload, empty metadata as ''", (t) => {
  const uuid = randomUUID();
  const payload = '{"header":{"id":"x"},"booking_id":"b"}';
  const fields = encodeWatermillEntry({ uuid, payload, metadata: {} });
  t.deepEqual(fields, ["_watermill_message_uuid", uuid, "payload", payload, "metadata", ""]);

  const bytes = Buffer.from(payload);
  const withMetadata = encodeWatermillEntry({ uuid, payload: new Uint8Array(bytes), metadata: { name: "BookingMade_v1" } });
  t.deepEqual(
    withMetadata.filter((_, i) => i % 2 === 0),
    ["_watermill_message_uuid", "payload", "metadata"],
  );
  t.deepEqual(withMetadata[3], bytes);
  t.is(hex(withMetadata[5] as Buffer), "81A46E616D65AE426F6F6B696E674D6164655F7631");
});

test("metadata containing _watermill_message_uuid is rejected, as the Go publisher does", (t) => {
  t.throws(() => encodeWatermillEntry({ uuid: "u", payload: "{}", metadata: { _watermill_message_uuid: "x" } }), {
    message: /reserved by watermill/,
  });
  t.throws(() => encodeWatermillEntry({ uuid: "", payload: "{}", metadata: {} }), { message: /uuid/ });
  t.throws(() => encodeWatermillMetadata({ n: 1 as unknown as string }), { message: /must be a string/ });
});

test("an entry written with XADD reads back with XRANGE and decodes as the Go consumer does", async (t) => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const key = `t${randomBytes(4).toString("hex")}.events`;
  t.teardown(async () => {
    await redis.del(key);
    redis.disconnect();
  });
  const uuid = randomUUID();
  const payload = JSON.stringify({
    header: { id: randomUUID(), published_at: "2024-05-01T10:00:00Z", idempotency_key: "k" },
    booking_id: randomUUID(),
    number_of_tickets: 2,
    customer_email: "zoë@example.com",
  });
  const metadata = {
    name: "BookingMade_v1",
    correlation_id: "gen_abc",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  };
  await redis.xadd(key, "*", ...encodeWatermillEntry({ uuid, payload, metadata }));
  await redis.xadd(key, "*", ...encodeWatermillEntry({ uuid: "second", payload: "{}", metadata: {} }));

  const entries = await redis.xrangeBuffer(key, "-", "+");
  t.is(entries.length, 2);
  const [, fields] = entries[0]!;
  t.is(fields.length, 6);
  const decoded = decodeWatermillEntry(fields);
  t.is(decoded.uuid, uuid);
  t.deepEqual(JSON.parse(decoded.payload.toString("utf8")), JSON.parse(payload));
  t.is(decoded.payload.toString("utf8"), payload);
  t.deepEqual(decoded.metadata, metadata);

  const second = decodeWatermillEntry(entries[1]![1]);
  t.is(second.uuid, "second");
  t.deepEqual(second.metadata, {});
});

test("decoder errors and leniencies match the Go subscriber", (t) => {
  t.throws(() => decodeWatermillEntry(["payload", "{}", "metadata", ""]), { message: /key is missing/ });
  t.throws(() => decodeWatermillEntry({ payload: "{}" }), { message: "_watermill_message_uuid key is missing" });

  const noPayload = decodeWatermillEntry({ _watermill_message_uuid: "u" });
  t.is(noPayload.payload.length, 0);
  t.deepEqual(noPayload.metadata, {});
  t.deepEqual(decodeWatermillEntry({ _watermill_message_uuid: "u", metadata: "" }).metadata, {});

  const bad = (metadata: Uint8Array) => () => decodeWatermillEntry({ _watermill_message_uuid: "u", metadata: Buffer.from(metadata) });
  t.throws(bad(Buffer.from([0xc1])), { message: /unmarshal metadata fail/ }); // never-used byte
  t.throws(bad(Buffer.from([0x81, 0xa1, 0x61])), { message: /unmarshal metadata fail/ }); // truncated
  t.throws(bad(encode(["name", "x"])), { message: /not a map/ });
  t.throws(bad(encode({ name: 1 })), { message: /not a string/ });
  t.throws(bad(Buffer.from([0x81, 0x01, 0xa1, 0x78])), { message: /unmarshal metadata fail/ }); // {1: "x"}
  t.throws(() => decodeWatermillEntry(["_watermill_message_uuid"]), { message: /pairs/ });

  // Go decodes bin as a string and nil as "".
  const lenient = encode({ name: new Uint8Array(Buffer.from("RefundTicket")), correlation_id: null });
  t.deepEqual(decodeWatermillMetadata(lenient), { name: "RefundTicket", correlation_id: "" });
  t.deepEqual(decodeWatermillMetadata(Buffer.from([0xc0])), {});
});
