/**
 * Followers waiting in this process for the next append, woken together.
 * Deno KV (on a handle without a watch) and IndexedDB wake their followers
 * with one.
 *
 * @module
 */

/**
 * A set of waiting followers; see the module documentation.
 *
 * @example A follower woken by an append
 * ```ts
 * import { Waiters } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * let appended = false;
 * const waiters = new Waiters();
 * const waiting = waiters.wait(new AbortController().signal, async () => appended);
 * appended = true;
 * waiters.wakeAll();
 * await waiting;
 * assert.equal(waiters.size, 0);
 * ```
 */
export class Waiters {
  readonly #wakes = new Set<() => void>();

  /** How many wait now. */
  get size(): number {
    return this.#wakes.size;
  }

  /**
   * Resolves on the next {@linkcode Waiters.wakeAll} or when `signal`
   * aborts — at once when `look` finds events already there (`true`). It
   * looks after joining, so an append between the look and the wait is not
   * missed. `look` may also answer a number of milliseconds: no wake-up will
   * come for what it saw (events committed but not yet readable), so the
   * wait ends after that long anyway.
   */
  async wait(
    signal: AbortSignal,
    look: () => Promise<boolean | number>,
  ): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    this.#wakes.add(wake);
    signal.addEventListener("abort", wake, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const found = await look();
      if (found === true) return;
      if (typeof found === "number") timer = setTimeout(wake, found);
      await woken;
    } finally {
      clearTimeout(timer);
      this.#wakes.delete(wake);
      signal.removeEventListener("abort", wake);
    }
  }

  /** Wakes everyone waiting now. */
  wakeAll(): void {
    const wakes = [...this.#wakes];
    this.#wakes.clear();
    for (const wake of wakes) wake();
  }
}
