/**
 * How the Deno KV event store wakes its followers: a KV watch of the append
 * notification key on Deno's handle, which sees every process's appends;
 * on a handle whose watch cannot serve (the `@deno/kv` npm package), this
 * store's own appends, the rest found by polling.
 *
 * @module
 */

import type { Kv, KvKey } from "./kv.ts";
import { Waiters } from "../../src/store_kit/mod.ts";

/** The followers of one store; see the module documentation. */
export class KvWakeUps {
  readonly #kv: Kv;
  readonly #notification: () => KvKey;
  readonly #watch: boolean;
  /** Waiters woken by this store's appends (on a handle without KV watch). */
  readonly #appended = new Waiters();
  readonly #watchers = new Set<AbortController>();

  constructor(kv: Kv, notification: () => KvKey, watch: boolean) {
    this.#kv = kv;
    this.#notification = notification;
    this.#watch = watch;
  }

  /** After this store committed an append. */
  appended(): void {
    this.#appended.wakeAll();
  }

  /**
   * Resolves at once when `look` finds events, else on the next append (a
   * KV watch, or this store's own), or when `signal` aborts.
   */
  async wait(signal: AbortSignal, look: () => Promise<boolean>): Promise<void> {
    // The @deno/kv package's watch misses keys that do not exist yet and
    // fails when cancelled: on such a handle, this store's own appends wake
    // waiters, and followers poll for the rest.
    if (!this.#watch) return await this.#appended.wait(signal, look);
    const watcher = new AbortController();
    this.#watchers.add(watcher);
    const stop = () => watcher.abort();
    signal.addEventListener("abort", stop, { once: true });
    const reader = this.#kv.watch([this.#notification()]).getReader();
    watcher.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), {
      once: true,
    });
    try {
      await reader.read(); // the current value
      if (await look()) return;
      await reader.read(); // the next change
    } catch {
      // Cancelled: the caller stopped waiting or the store closed.
    } finally {
      signal.removeEventListener("abort", stop);
      this.#watchers.delete(watcher);
      await reader.cancel().catch(() => {});
    }
  }

  /** Ends every wait. */
  close(): void {
    this.#appended.wakeAll();
    for (const watcher of this.#watchers) watcher.abort();
  }
}
