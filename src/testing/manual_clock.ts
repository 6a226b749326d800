/**
 * A clock that moves only when told to.
 *
 * @module
 */

import type { Clock } from "../clock.ts";

interface Sleeper {
  readonly until: number;
  readonly resolve: () => void;
}

/**
 * A {@linkcode Clock} for tests: `now()` stands still until `advance()` moves
 * it, and sleepers wake when time reaches them. Retries, deadlines and
 * timestamps become deterministic, without real waiting.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const clock = new ManualClock(1_000);
 * let woke = false;
 * const sleeping = clock.sleep(50).then(() => woke = true);
 * await clock.advance(49);
 * assert.equal(woke, false);
 * await clock.advance(1);
 * await sleeping;
 * assert.equal(clock.now(), 1_050);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  /** Starts the clock at `start` ms since the epoch (default 2026-01-01). */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  /** The current time. */
  now(): number {
    return this.#now;
  }

  /** Resolves once the clock has been advanced by `ms`. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = { until: this.#now + Math.max(0, ms), resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener("abort", () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** How many sleepers are waiting. */
  get sleepers(): number {
    return this.#sleepers.length;
  }

  /** Moves time forward by `ms`, waking every sleeper whose time has come. */
  async advance(ms: number): Promise<void> {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.until <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.until > this.#now);
    for (const sleeper of due) sleeper.resolve();
    // Let the woken code run up to its next await.
    for (let i = 0; i < 10; i++) await Promise.resolve();
  }
}
