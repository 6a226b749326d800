/**
 * What the event-store cases share: the test signature, their events, and
 * checks of conflicts and order.
 *
 * @module
 */

import { ConcurrencyError } from "../../errors.ts";
import type { Event, RecordedEvent } from "../../event.ts";
import type { EventStore } from "../../event_store.ts";
import { check, checkEqual } from "../assert.ts";

/** Registers one case on the suite's list. */
export type Test = (name: string, body: (store: EventStore) => Promise<void>) => void;

/** What the cases are sized by. */
export interface CaseOptions {
  /** Concurrent writers in the race cases. */
  readonly writers: number;
  /** The largest payload the store takes, in bytes. */
  readonly maxPayloadBytes?: number;
}

export type TestEvent = Event<string, Record<string, unknown>>;

export function ev(type: string, data: Record<string, unknown> = {}): TestEvent {
  return { type, data };
}

export async function appendOne(
  store: EventStore,
  streamId: string,
  count = 1,
): Promise<void> {
  await store.appendToStream(
    streamId,
    Array.from({ length: count }, (_, i) => ev("Happened", { i })),
  );
}

export function checkConflict(
  error: unknown,
  streamId: string,
  expected: unknown,
  actual: number,
  what: string,
): void {
  check(
    error instanceof ConcurrencyError,
    `${what}: expected a ConcurrencyError, got ${String(error)}`,
  );
  checkEqual(
    { streamId: error.streamId, expected: error.expected, actual: error.actual },
    { streamId, expected, actual },
    `${what}: the conflict's facts`,
  );
}

export function checkOrdered(events: readonly RecordedEvent[], what: string): void {
  for (let i = 1; i < events.length; i++) {
    check(
      events[i].position > events[i - 1].position,
      `${what}: position ${events[i].position} follows ${events[i - 1].position}`,
    );
  }
}
