/**
 * The Watermill redisstream default marshaller, both directions.
 *
 * An entry has exactly three fields: `_watermill_message_uuid` (plain string), `payload` (the raw
 * payload bytes, not base64) and `metadata` (MessagePack str→str map, or "" when there is none).
 *
 * @msgpack/msgpack is used as is: for a str→str map it emits fixmap/map16/map32 headers and
 * fixstr/str8/str16/str32 strings, the same choices as Go's vmihailenco/msgpack (checked in
 * test/messaging/watermill-format.test.ts), so no hand-written encoder is needed.
 *
 * Read entries with the Buffer variants of ioredis (`xrangeBuffer`, `xreadgroupBuffer`): the
 * metadata bytes are not valid UTF-8 and would be mangled by a string reply.
 */
import { decodeMulti, encode } from "@msgpack/msgpack";

export const WATERMILL_UUID_KEY = "_watermill_message_uuid";
export const WATERMILL_PAYLOAD_KEY = "payload";
export const WATERMILL_METADATA_KEY = "metadata";

export interface WatermillMessage {
  uuid: string;
  /** Raw JSON string or bytes; written as-is. */
  payload: string | Uint8Array;
  metadata: Record<string, string>;
}

export interface DecodedWatermillMessage {
  uuid: string;
  payload: Buffer;
  metadata: Record<string, string>;
}

export class WatermillFormatError extends Error {
  override name = "WatermillFormatError";
}

/** MessagePack of a str→str map, as vmihailenco/msgpack encodes `message.Metadata`. */
export function encodeWatermillMetadata(metadata: Record<string, string>): Buffer {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== "string") {
      throw new WatermillFormatError(`metadata "${key}" must be a string, got ${typeof value}`);
    }
  }
  const bytes = encode(metadata);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The XADD field/value list of one message: `[uuidKey, uuid, "payload", bytes, "metadata", msgpack|""]`.
 * Metadata containing `_watermill_message_uuid` is refused, as the Go publisher refuses it.
 */
export function encodeWatermillEntry(message: WatermillMessage): (string | Buffer)[] {
  const { uuid, payload, metadata } = message;
  if (typeof uuid !== "string" || uuid === "") {
    throw new WatermillFormatError("message uuid must be a non-empty string");
  }
  if (Object.hasOwn(metadata, WATERMILL_UUID_KEY)) {
    throw new WatermillFormatError(`metadata ${WATERMILL_UUID_KEY} is reserved by watermill for message UUID`);
  }
  const payloadField = typeof payload === "string" ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const metadataField = Object.keys(metadata).length > 0 ? encodeWatermillMetadata(metadata) : "";
  return [WATERMILL_UUID_KEY, uuid, WATERMILL_PAYLOAD_KEY, payloadField, WATERMILL_METADATA_KEY, metadataField];
}

type FieldValue = string | Buffer | Uint8Array;

function toBuffer(value: FieldValue): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}

function toFieldMap(fields: readonly FieldValue[] | Record<string, FieldValue>): Map<string, FieldValue> {
  const map = new Map<string, FieldValue>();
  if (Array.isArray(fields)) {
    if (fields.length % 2 !== 0) {
      throw new WatermillFormatError("entry fields must come in field/value pairs");
    }
    for (let i = 0; i < fields.length; i += 2) {
      map.set(toBuffer(fields[i] as FieldValue).toString("utf8"), fields[i + 1] as FieldValue);
    }
  } else {
    for (const [key, value] of Object.entries(fields)) map.set(key, value);
  }
  return map;
}

/** Go's msgpack decodes str and bin into a string, and nil into "". Anything else is an error. */
function metadataString(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  if (value === null) return "";
  throw new WatermillFormatError(`unmarshal metadata fail: ${what} is ${typeof value}, not a string`);
}

/** Decodes a non-empty metadata field: MessagePack of a str→str map (nil ⇒ no metadata). */
export function decodeWatermillMetadata(bytes: Uint8Array): Record<string, string> {
  let value: unknown;
  try {
    // Like vmihailenco's Unmarshal, read one value and ignore anything after it.
    const first = decodeMulti(bytes, { mapKeyConverter: (key) => metadataString(key, "a key") }).next();
    if (first.done) throw new Error("empty input");
    value = first.value;
  } catch (error) {
    if (error instanceof WatermillFormatError) throw error;
    throw new WatermillFormatError(`unmarshal metadata fail: ${(error as Error).message}`);
  }
  const metadata: Record<string, string> = {};
  if (value === null) return metadata;
  if (typeof value !== "object" || Array.isArray(value) || value instanceof Uint8Array || value instanceof Date) {
    throw new WatermillFormatError("unmarshal metadata fail: not a map");
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    Object.defineProperty(metadata, key, {
      value: metadataString(item, `the value of "${key}"`),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return metadata;
}

/**
 * Reads one stream entry the way the Go subscriber does: a missing uuid fails with "key is missing",
 * a missing payload is an empty payload, a non-empty metadata must be MessagePack of a str→str map.
 * `fields` is the flat XRANGE/XREADGROUP field list or an object of fields.
 */
export function decodeWatermillEntry(fields: readonly FieldValue[] | Record<string, FieldValue>): DecodedWatermillMessage {
  const map = toFieldMap(fields);
  const uuid = map.get(WATERMILL_UUID_KEY);
  if (uuid === undefined) {
    throw new WatermillFormatError(`${WATERMILL_UUID_KEY} key is missing`);
  }
  const payload = map.get(WATERMILL_PAYLOAD_KEY);
  const rawMetadata = map.get(WATERMILL_METADATA_KEY);
  const metadataBytes = rawMetadata === undefined ? Buffer.alloc(0) : toBuffer(rawMetadata);
  return {
    uuid: toBuffer(uuid).toString("utf8"),
    payload: payload === undefined ? Buffer.alloc(0) : toBuffer(payload),
    metadata: metadataBytes.length === 0 ? {} : decodeWatermillMetadata(metadataBytes),
  };
}
