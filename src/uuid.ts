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
