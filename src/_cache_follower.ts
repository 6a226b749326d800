/**
 * Keeps a decider handler's state cache coherent with other writers: it
 * follows the store's global order from the handler's first append on,
 * woken by the store's own wake-ups (PostgreSQL NOTIFY, Deno KV watch,
 * BroadcastChannel, the memory store's appends), and hands every event it
 * reads to the handler, which brings its cached states up to date.
 *
 * Best effort by design: an event the follower has not read yet when a
 * command decides costs what it costs without a follower, one conflict and
 * a retry. The expected-version check at append keeps every decision
 * correct either way.
 *
 * @module
 */

import { StoreClosedError } from "./errors.ts";
import type { RecordedEvent } from "./event.ts";
import type { AppendNotifier, EventStore } from "./event_store.ts";

/** Events read per call while catching up. */
const PAGE = 1_000;
/** How long to wait after a failed read before trying again (ms). */
const RETRY_MS = 100;

/** Follows a store for a decider handler's cache; see the module documentation. */
export class CacheFollower {
  readonly #store: EventStore & AppendNotifier;
  readonly #apply: (events: readonly RecordedEvent[]) => void;
  /** The position read up to; undefined until the handler's first append. */
  #after: number | undefined;

  constructor(
    store: EventStore & AppendNotifier,
    apply: (events: readonly RecordedEvent[]) => void,
  ) {
    this.#store = store;
    this.#apply = apply;
  }

  /**
   * Starts following after `position`, the last position of the handler's
   * first append: a position near the head, so there is no history to read.
   * Later calls do nothing.
   */
  startAfter(position: number): void {
    if (this.#after !== undefined) return;
    this.#after = position;
    void this.#follow();
  }

  /** Follows until the store is closed. */
  async #follow(): Promise<void> {
    // Never aborted: the wait ends when events arrive or the store closes.
    const signal = new AbortController().signal;
    while (true) {
      try {
        await this.#store.waitForEvents(this.#after!, signal);
        const events = await this.#store.readAll({ after: this.#after, limit: PAGE });
        if (events.length > 0) {
          this.#after = events[events.length - 1].position;
          this.#apply(events);
        }
      } catch (error) {
        if (error instanceof StoreClosedError) return;
        // A lost connection or a refused read: the cache stays as it is
        // (appends still check every version) until a read succeeds.
        await pause(RETRY_MS);
      }
    }
  }
}

/** Waits `ms` without keeping a Node process alive for it. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    (timer as { unref?: () => void }).unref?.();
  });
}

/** Whether `store` can wake a follower. */
export function isAppendNotifier(
  store: EventStore,
): store is EventStore & AppendNotifier {
  return typeof (store as Partial<AppendNotifier>).waitForEvents === "function";
}
