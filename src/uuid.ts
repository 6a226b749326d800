/**
 * UUIDv7 identifiers (RFC 9562): time-ordered, so ids sort by creation time
 * and index well, with a per-millisecond counter that keeps ids from one
 * process strictly increasing.
 *
 * @module
 */

const HEX: string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

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

let lastMillis = -1;
let counter = 0;

/**
 * Returns a new UUIDv7 string. Ids made by one process are strictly
 * increasing, even within one millisecond.
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
 * ```
 */
export function uuidv7(): string {
  let millis = Date.now();
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
  return HEX[(high >>> 24) & 0xff] + HEX[(high >>> 16) & 0xff] +
    HEX[(high >>> 8) & 0xff] + HEX[high & 0xff] + "-" +
    HEX[(low >>> 8) & 0xff] + HEX[low & 0xff] + "-" +
    HEX[0x70 | (counter >>> 8)] + HEX[counter & 0xff] + "-" +
    HEX[0x80 | (pool[r] & 0x3f)] + HEX[pool[r + 1]] + "-" +
    HEX[pool[r + 2]] + HEX[pool[r + 3]] + HEX[pool[r + 4]] +
    HEX[pool[r + 5]] + HEX[pool[r + 6]] + HEX[pool[r + 7]];
}
