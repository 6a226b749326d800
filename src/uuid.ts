/**
 * UUIDv7 identifiers (RFC 9562): time-ordered, so ids sort by creation time
 * and index well, with a per-millisecond counter that keeps ids from one
 * process strictly increasing.
 *
 * @module
 */

// Hex digits as ASCII codes, high and low nibble of each byte value.
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const hex = i.toString(16).padStart(2, "0");
  HIGH[i] = hex.charCodeAt(0);
  LOW[i] = hex.charCodeAt(1);
}
const DASH = 45;

// The id is written as ASCII into one buffer and decoded once: a flat string.
// (Concatenating it from pieces makes a rope of ~20 nodes per id, which every
// store that keeps the id keeps alive and the garbage collector must walk.)
const text = new Uint8Array(36);
const decoder = new TextDecoder();

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
  hex(0, (high >>> 24) & 0xff);
  hex(2, (high >>> 16) & 0xff);
  hex(4, (high >>> 8) & 0xff);
  hex(6, high & 0xff);
  text[8] = DASH;
  hex(9, (low >>> 8) & 0xff);
  hex(11, low & 0xff);
  text[13] = DASH;
  hex(14, 0x70 | (counter >>> 8));
  hex(16, counter & 0xff);
  text[18] = DASH;
  hex(19, 0x80 | (pool[r] & 0x3f));
  hex(21, pool[r + 1]);
  text[23] = DASH;
  for (let i = 2; i < 8; i++) hex(20 + 2 * i, pool[r + i]);
  return decoder.decode(text);
}

function hex(at: number, byte: number): void {
  text[at] = HIGH[byte];
  text[at + 1] = LOW[byte];
}
