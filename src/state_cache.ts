/**
 * An in-process cache of folded stream states.
 *
 * @module
 */

/** A stream's folded state at a version. */
export interface CachedState<S> {
  /** The state after folding the stream's events up to `version`. */
  readonly state: S;
  /** The stream version the state reflects. */
  readonly version: number;
}

/**
 * Keeps the folded state of recently used streams, so a command on a stream
 * whose cached state is current skips reading the stream. Least recently
 * written entries are evicted beyond `maxEntries`.
 *
 * The cache is never trusted blindly: the decider handler appends with the
 * cached version as the expected version, so a stale entry turns into a
 * conflict, and the handler catches up and decides again.
 *
 * @example
 * ```ts
 * import { StateCache } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const cache = new StateCache<number>({ maxEntries: 2 });
 * cache.set("a", { state: 1, version: 1 });
 * cache.set("b", { state: 2, version: 1 });
 * cache.set("c", { state: 3, version: 1 });
 * assert.equal(cache.get("a"), undefined);
 * assert.equal(cache.get("c")?.state, 3);
 * ```
 */
export class StateCache<S> {
  readonly #entries = new Map<string, CachedState<S>>();
  readonly #maxEntries: number;

  /** Creates a cache holding at most `maxEntries` streams (default 10,000). */
  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1, got ${max}`);
    }
    this.#maxEntries = max;
  }

  /** The cached state of a stream, if any. */
  get(streamId: string): CachedState<S> | undefined {
    return this.#entries.get(streamId);
  }

  /** Caches a stream's state at a version. */
  set(streamId: string, entry: CachedState<S>): void {
    const entries = this.#entries;
    // Re-inserting moves the stream to the young end of the map's order.
    if (!entries.delete(streamId) && entries.size >= this.#maxEntries) {
      entries.delete(entries.keys().next().value as string);
    }
    entries.set(streamId, entry);
  }

  /** Forgets a stream. */
  delete(streamId: string): void {
    this.#entries.delete(streamId);
  }

  /** Forgets every stream. */
  clear(): void {
    this.#entries.clear();
  }

  /** How many streams are cached. */
  get size(): number {
    return this.#entries.size;
  }
}
