/**
 * UUIDv7 identifiers (RFC 9562): time-ordered, so ids sort by creation time
 * and index well, with a per-millisecond counter that keeps ids from one
 * process strictly increasing.
 *
 * @module
 */

// Hex digits as character codes: high and low nibble of each byte value.
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const hex = i.toString(16).padStart(2, "0");
  HIGH[i] = hex.charCodeAt(0);
  LOW[i] = hex.charCodeAt(1);
}
const DASH = 45;

// The id's 16 bytes, written here and then turned into one flat string by a
// single String.fromCharCode call. (Concatenating the id from pieces makes a
// rope of ~20 heap nodes that every store keeping the id keeps alive.)
const bytes = new Uint8Array(16);

/** `bytes` as a UUID string, made by one String.fromCharCode call (see above). */
function formatted(): string {
  const b = bytes;
  const H = HIGH;
  const L = LOW;
  // deno-fmt-ignore
  return String.fromCharCode(
    H[b[0]], L[b[0]], H[b[1]], L[b[1]], H[b[2]], L[b[2]], H[b[3]], L[b[3]], DASH,
    H[b[4]], L[b[4]], H[b[5]], L[b[5]], DASH,
    H[b[6]], L[b[6]], H[b[7]], L[b[7]], DASH,
    H[b[8]], L[b[8]], H[b[9]], L[b[9]], DASH,
    H[b[10]], L[b[10]], H[b[11]], L[b[11]], H[b[12]], L[b[12]],
    H[b[13]], L[b[13]], H[b[14]], L[b[14]], H[b[15]], L[b[15]],
  );
}

// Random bytes are drawn in blocks: one getRandomValues call per 512 ids
// instead of one per id.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomBytes(count: number): number {
  if (poolOffset + count > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += count;
  return start;
}

/** The largest time a UUIDv7's 48-bit timestamp holds. */
const MAX_MILLIS = 2 ** 48 - 1;

let lastMillis = -1;
let counter = 0;

/**
 * Returns a new UUIDv7 string. Ids made by one process are strictly
 * increasing, even within one millisecond.
 *
 * Pass `now` when the current time is already at hand (it costs a clock read
 * otherwise): the id then carries that time. A time before the last id's
 * cannot break the order: the id continues from the last one instead.
 *
 * @param now The Unix time in milliseconds to stamp (default: `Date.now()`),
 * an integer from 0 to 2^48 - 1.
 * @throws {RangeError} when `now` is not such an integer.
 *
 * @example
 * ```ts
 * import { uuidv7 } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const a = uuidv7();
 * const b = uuidv7();
 * assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
 * assert.ok(a < b);
 *
 * // With a timestamp already read: the first 12 hex digits are that time.
 * const now = Date.now();
 * assert.ok(uuidv7(now).replace("-", "").startsWith(now.toString(16).padStart(12, "0")));
 * ```
 */
export function uuidv7(now?: number): string {
  let millis: number;
  if (now === undefined) millis = Date.now();
  else if (Number.isSafeInteger(now) && now >= 0 && now <= MAX_MILLIS) millis = now;
  else {
    throw new RangeError(
      `uuidv7(now): now must be an integer from 0 to 2^48 - 1, got ${now}`,
    );
  }
  if (millis > lastMillis) {
    lastMillis = millis;
    const at = randomBytes(2);
    // Start the 12-bit counter in its lower half so it rarely overflows.
    counter = ((pool[at] << 8) | pool[at + 1]) & 0x7ff;
  } else {
    millis = lastMillis;
    counter++;
    if (counter > 0xfff) {
      // Counter exhausted within this millisecond: borrow the next one.
      lastMillis = ++millis;
      counter = 0;
    }
  }
  const r = randomBytes(8);
  const high = Math.floor(millis / 0x10000);
  const low = millis & 0xffff;
  const b = bytes;
  b[0] = high >>> 24;
  b[1] = high >>> 16;
  b[2] = high >>> 8;
  b[3] = high;
  b[4] = low >>> 8;
  b[5] = low;
  b[6] = 0x70 | (counter >>> 8);
  b[7] = counter;
  b[8] = 0x80 | (pool[r] & 0x3f);
  for (let i = 1; i < 8; i++) b[8 + i] = pool[r + i];
  return formatted();
}

/** Each hex digit's value by character code; -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/**
 * Reads the high 64 bits of a UUIDv7 (its time, version and counter) into
 * `bytes[0..7]`; false, with `bytes` untouched where it matters, when `id`
 * is not a UUIDv7.
 */
function readUuidV7High(id: string): boolean {
  if (
    id.length !== 36 || id.charCodeAt(8) !== DASH || id.charCodeAt(13) !== DASH ||
    id.charCodeAt(18) !== DASH || id.charCodeAt(23) !== DASH ||
    id.charCodeAt(14) !== 55 /* 7 */
  ) return false;
  const variant = HEX_VALUE[id.charCodeAt(19)] ?? -1;
  if (variant < 8 || variant > 11) return false;
  let at = 0;
  for (let i = 0; i < 8; i++) {
    if (at === 8 || at === 13) at++;
    const high = HEX_VALUE[id.charCodeAt(at)] ?? -1;
    const low = HEX_VALUE[id.charCodeAt(at + 1)] ?? -1;
    if (high < 0 || low < 0) return false;
    bytes[i] = (high << 4) | low;
    at += 2;
  }
  return true;
}

/** Four 32-bit lanes of a string hash (a multiply-rotate mix, like cyrb128). */
function hash128(text: string): [number, number, number, number] {
  let h1 = 0x6a09e667, h2 = 0xbb67ae85, h3 = 0x3c6ef372, h4 = 0xa54ff53a;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** The most events one command's ids can number (PostgreSQL's most per append). */
const MAX_EVENT_INDEX = 65_535;

/**
 * The id of the event at `index` among the events one command appends: the
 * same for every attempt of the command, so a store recognises an append
 * retried after an ambiguous failure (a lost connection, a lost response) as
 * the one it already holds, and answers with it instead of writing it twice.
 * The `deciderHandler` gives every event it appends such an id.
 *
 * The id is a valid UUIDv7. When `commandId` is a UUIDv7 too, the event ids
 * share its first 64 bits (its time and counter), so they sort with the
 * command, and in `index` order within it; otherwise every bit but the
 * version and variant comes from a hash of the command id.
 *
 * @throws {RangeError} for an index that is not an integer from 0 to 65,535.
 *
 * @example
 * ```ts
 * import { eventIdOf, uuidv7 } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const commandId = uuidv7();
 * assert.equal(eventIdOf(commandId, 0), eventIdOf(commandId, 0));
 * assert.notEqual(eventIdOf(commandId, 0), eventIdOf(commandId, 1));
 * assert.ok(eventIdOf(commandId, 0) < eventIdOf(commandId, 1));
 * assert.equal(eventIdOf(commandId, 0).slice(0, 19), commandId.slice(0, 19));
 * ```
 */
export function eventIdOf(commandId: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_EVENT_INDEX) {
    throw new RangeError(
      `eventIdOf(commandId, index): index must be an integer from 0 to ${MAX_EVENT_INDEX}, got ${index}`,
    );
  }
  const [h1, h2, h3, h4] = hash128(commandId);
  const b = bytes;
  // The high 64 bits: a UUIDv7 command id's own (time, version, counter),
  // so the events of a process's later commands sort after earlier ones';
  // otherwise the hash's, with the version.
  if (!readUuidV7High(commandId)) {
    b[0] = h3 >>> 24;
    b[1] = h3 >>> 16;
    b[2] = h3 >>> 8;
    b[3] = h3;
    b[4] = h4 >>> 24;
    b[5] = h4 >>> 16;
    b[6] = 0x70 | ((h4 >>> 8) & 0x0f);
    b[7] = h4;
  }
  // The low 64 bits: the variant, the index (16 bits, so a command's ids
  // sort in index order), then 46 bits of the command id's hash.
  b[8] = 0x80 | (index >>> 10);
  b[9] = index >>> 2;
  b[10] = ((index & 3) << 6) | (h1 >>> 26);
  b[11] = h1 >>> 18;
  b[12] = h1 >>> 10;
  b[13] = h1 >>> 2;
  b[14] = h2 >>> 24;
  b[15] = h2 >>> 16;
  return formatted();
}

/**
 * The command id an idempotency key stands for: the same key, the same id,
 * in every process. The bus uses it for a dispatch that gives an
 * `idempotencyKey` and no `commandId`, so the key is recorded with the
 * command, atomically with its events, and a second dispatch under the key
 * answers with the first outcome (see `deciderHandler`), after restarts too.
 *
 * @example
 * ```ts
 * import { commandIdOf } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.equal(commandIdOf("order-42/pay"), commandIdOf("order-42/pay"));
 * assert.notEqual(commandIdOf("order-42/pay"), commandIdOf("order-43/pay"));
 * ```
 */
export function commandIdOf(idempotencyKey: string): string {
  return eventIdOf(`idempotency-key\u0000${idempotencyKey}`, 0);
}
