/**
 * An in-process cache of folded stream states.
 *
 * @module
 */

/**
 * A stream's folded state at a version.
 *
 * @example
 * ```ts
 * import { type CachedState, StateCache } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const cache = new StateCache<number>();
 * cache.set("counter-1", 42, 7);
 * const entry: CachedState<number> | undefined = cache.get("counter-1");
 * assert.equal(entry?.state, 42);
 * assert.equal(entry?.version, 7);
 * ```
 */
export interface CachedState<S> {
  /** The state after folding the stream's events up to `version`. */
  readonly state: S;
  /** The stream version the state reflects. */
  readonly version: number;
}

interface Slot<S> {
  state: S;
  version: number;
  /** Written since the eviction hand last passed: gets a second chance. */
  recent: boolean;
}

/**
 * Keeps the folded state of recently used streams, so a command on a stream
 * whose cached state is current skips reading the stream. Beyond
 * `maxEntries`, streams not written recently are evicted first ("second
 * chance" eviction: an entry rewritten since it was last considered is kept
 * and the next one goes).
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
 * cache.set("a", 1, 1);
 * cache.set("b", 2, 1);
 * cache.set("c", 3, 1);
 * assert.equal(cache.get("a"), undefined);
 * assert.equal(cache.get("c")?.state, 3);
 * ```
 */
export class StateCache<S> {
  readonly #slots = new Map<string, Slot<S>>();
  readonly #maxEntries: number;

  /** Creates a cache holding at most `maxEntries` streams (default 10,000). */
  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1, got ${max}`);
    }
    this.#maxEntries = max;
  }

  /**
   * The cached state of a stream, if any. The entry is a live view: read its
   * fields right away, as a later `set` of the same stream changes them.
   */
  get(streamId: string): CachedState<S> | undefined {
    return this.#slots.get(streamId);
  }

  /** Caches a stream's state at a version. */
  set(streamId: string, state: S, version: number): void {
    const slot = this.#slots.get(streamId);
    if (slot) {
      // Updated in place: the hot path allocates nothing.
      slot.state = state;
      slot.version = version;
      slot.recent = true;
      return;
    }
    if (this.#slots.size >= this.#maxEntries) this.#evictOne();
    this.#slots.set(streamId, { state, version, recent: false });
  }

  #evictOne(): void {
    for (const [streamId, slot] of this.#slots) {
      this.#slots.delete(streamId);
      if (!slot.recent) return;
      slot.recent = false;
      this.#slots.set(streamId, slot);
    }
  }

  /** Forgets a stream. */
  delete(streamId: string): void {
    this.#slots.delete(streamId);
  }

  /** Forgets every stream. */
  clear(): void {
    this.#slots.clear();
  }

  /** How many streams are cached. */
  get size(): number {
    return this.#slots.size;
  }
}
