/**
 * Following the global log: catch up from a checkpoint, then wait for new
 * events, and keep checkpoints somewhere durable.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import type { Event, RecordedEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import { waitForMoreEvents } from "./_wait_for_events.ts";

/**
 * Options of {@linkcode follow}.
 *
 * @example Resume from a saved checkpoint
 * ```ts
 * import { follow, type FollowOptions } from "@verdict/verdict";
 * import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = new MemoryEventStore();
 * const checkpoints = new MemoryCheckpointStore();
 * const stop = new AbortController();
 * const options: FollowOptions = {
 *   after: await checkpoints.load("mailer"),
 *   batchSize: 100,
 *   signal: stop.signal,
 * };
 * stop.abort(); // a real follower runs until shutdown
 * for await (const event of follow(store, options)) {
 *   await checkpoints.save("mailer", event.position);
 * }
 * ```
 */
export interface FollowOptions {
  /** Start after this global position (default 0: from the beginning). */
  readonly after?: number;
  /** Events read per page (default 500). */
  readonly batchSize?: number;
  /** Stops the follower: the iteration ends, without an error. */
  readonly signal?: AbortSignal;
  /**
   * How often to look for new events when the store cannot notify, or as a
   * safety net for writes it cannot see (other processes), in ms (default 500).
   */
  readonly pollIntervalMs?: number;
  /** The clock used to wait between polls (default: the system clock). */
  readonly clock?: Clock;
}

/**
 * Follows every event of a store in global order: reads everything after
 * `after`, then waits for new events and yields them as they commit, until
 * `signal` aborts. Each event is yielded once, in order; the caller keeps its
 * checkpoint (the last position it handled) to resume after a restart.
 *
 * @example Catch up, then see a new event arrive
 * ```ts
 * import { follow } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("s", [{ type: "Old", data: {} }]);
 * const stop = new AbortController();
 * const seen: string[] = [];
 * const following = (async () => {
 *   for await (const event of follow(store, { signal: stop.signal })) {
 *     seen.push(event.type);
 *     if (seen.length === 2) stop.abort();
 *   }
 * })();
 * await store.appendToStream("s", [{ type: "New", data: {} }]);
 * await following;
 * assert.deepEqual(seen, ["Old", "New"]);
 * ```
 */
export async function* follow<E extends Event = Event>(
  store: EventStore,
  options: FollowOptions = {},
): AsyncGenerator<RecordedEvent<E>, void, undefined> {
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
  }
  let checkpoint = options.after ?? 0;
  while (!signal?.aborted) {
    const page = await store.readAll<E>({ after: checkpoint, limit: batchSize });
    for (const event of page) {
      if (signal?.aborted) return;
      checkpoint = event.position;
      yield event;
    }
    if (page.length === batchSize) continue;
    // Caught up: wait for a notification or the next poll, whichever first.
    await waitForMoreEvents(store, checkpoint, pollIntervalMs, clock, signal);
  }
}
