/**
 * Time as a dependency, so tests and simulations can control it.
 *
 * @module
 */

/**
 * A source of time and a way to wait. Inject one to make retries, deadlines
 * and timestamps deterministic in tests.
 *
 * @example A clock frozen at one instant
 * ```ts
 * import { type Clock, CommandBus } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const frozen: Clock = {
 *   now: () => Date.UTC(2026, 0, 1),
 *   sleep: () => Promise.resolve(),
 * };
 * const bus = new CommandBus({ clock: frozen });
 * let startedAt = 0;
 * bus.register("Ping", (_, ctx) => {
 *   startedAt = ctx.startedAt;
 *   return { events: [], streams: [] };
 * });
 * await bus.dispatch({ type: "Ping", data: null });
 * assert.equal(startedAt, Date.UTC(2026, 0, 1));
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with the signal's reason if the
   * signal aborts first.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock: `Date.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const before = systemClock.now();
 * await systemClock.sleep(1);
 * assert.ok(systemClock.now() >= before);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};
