/**
 * Bounded retries with jittered exponential backoff.
 *
 * @module
 */

/**
 * How a handler retries a conflicted append.
 *
 * @example Give up quickly on a hot stream
 * ```ts
 * import { deciderHandler, type RetryPolicy } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const retry: RetryPolicy = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 };
 * const handler = deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Hit", data: null }], evolve: (n) => n + 1 },
 *   store: new MemoryEventStore(),
 *   streamId: () => "hot-stream",
 *   retry,
 * });
 * ```
 */
export interface RetryPolicy {
  /** Attempts in all, the first one included (default 10). */
  readonly maxAttempts?: number;
  /** The backoff cap of the first retry, in ms (default 2). */
  readonly baseDelayMs?: number;
  /** The largest backoff, in ms (default 250). */
  readonly maxDelayMs?: number;
  /** A source of randomness in [0, 1) for the jitter (default `Math.random`). */
  readonly random?: () => number;
}

/**
 * A {@linkcode RetryPolicy} with every field filled in.
 *
 * @example
 * ```ts
 * import {
 *   type ResolvedRetryPolicy,
 *   resolveRetryPolicy,
 * } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const policy: ResolvedRetryPolicy = resolveRetryPolicy({ maxAttempts: 4 });
 * assert.equal(policy.maxAttempts, 4);
 * assert.equal(typeof policy.random, "function");
 * ```
 */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

/**
 * Fills in a retry policy's defaults and checks its values.
 *
 * @throws {RangeError} for a non-positive attempt count or negative delays.
 *
 * @example
 * ```ts
 * import { resolveRetryPolicy } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveRetryPolicy({ maxAttempts: 3 }).maxAttempts, 3);
 * assert.throws(() => resolveRetryPolicy({ maxAttempts: 0 }), RangeError);
 * ```
 */
export function resolveRetryPolicy(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  const resolved = {
    maxAttempts: policy.maxAttempts ?? 10,
    baseDelayMs: policy.baseDelayMs ?? 2,
    maxDelayMs: policy.maxDelayMs ?? 250,
    random: policy.random ?? Math.random,
  };
  if (!Number.isSafeInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new RangeError(
      `maxAttempts must be an integer >= 1, got ${resolved.maxAttempts}`,
    );
  }
  if (!(resolved.baseDelayMs >= 0) || !(resolved.maxDelayMs >= 0)) {
    throw new RangeError("retry delays must be >= 0");
  }
  return resolved;
}

/**
 * The delay before retry number `retry` (1 for the first retry): "full
 * jitter", a uniform draw between 0 and `min(maxDelayMs, baseDelayMs * 2^(retry-1))`,
 * which spreads competing writers apart instead of having them collide again.
 *
 * @example
 * ```ts
 * import { backoffDelay, resolveRetryPolicy } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const policy = resolveRetryPolicy({ baseDelayMs: 10, maxDelayMs: 50, random: () => 0.5 });
 * assert.equal(backoffDelay(policy, 1), 5);
 * assert.equal(backoffDelay(policy, 10), 25);
 * ```
 */
export function backoffDelay(policy: ResolvedRetryPolicy, retry: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return policy.random() * cap;
}
