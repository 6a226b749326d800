/**
 * The rules every checkpoint store applies to its input.
 *
 * @module
 */

/**
 * Throws a `TypeError` for an empty consumer name and a `RangeError` for a
 * position that is not an integer ≥ 0.
 *
 * @example
 * ```ts
 * import { assertValidCheckpoint } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidCheckpoint("balances", 42);
 * assert.throws(() => assertValidCheckpoint("", 1), TypeError);
 * assert.throws(() => assertValidCheckpoint("balances", -1), RangeError);
 * ```
 */
export function assertValidCheckpoint(consumer: unknown, position: unknown): void {
  if (typeof consumer !== "string" || consumer.length === 0) {
    throw new TypeError("A consumer name must be a non-empty string");
  }
  if (typeof position !== "number" || !Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`A checkpoint must be an integer >= 0, got ${String(position)}`);
  }
}
