/**
 * How followers wait once caught up: a store's notification or the next
 * poll, whichever comes first. Shared by `follow()`, `Subscription` and
 * `DocumentProjectionRunner`; not part of the public API.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { AppendNotifier, EventStore } from "../event_store.ts";

/** Resolves on new events after `position`, the next poll, or `signal` aborting. */
export async function waitForMoreEvents(
  store: EventStore,
  position: number,
  pollIntervalMs: number,
  clock: Clock,
  signal?: AbortSignal,
): Promise<void> {
  // An abort that came first (a consumer stopping on a page's last event)
  // fires no event: without this, the wait would last a whole poll.
  if (signal?.aborted) return;
  const wake = new AbortController();
  const onStop = () => wake.abort();
  signal?.addEventListener("abort", onStop, { once: true });
  try {
    const waits = [clock.sleep(pollIntervalMs, wake.signal).catch(() => {})];
    const notifier = store as Partial<AppendNotifier>;
    if (typeof notifier.waitForEvents === "function") {
      waits.push(notifier.waitForEvents(position, wake.signal).catch(() => {}));
    }
    await Promise.race(waits);
  } finally {
    wake.abort();
    signal?.removeEventListener("abort", onStop);
  }
}
