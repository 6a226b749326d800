/**
 * For store authors: is this append a retry of one already stored? Every
 * store answers the same way, here; each only looks its events up by id.
 *
 * @module
 */

import { DuplicateEventIdError } from "../errors.ts";
import type { Event, RecordedEvent } from "../event.ts";
import type { AppendResult, StreamAppend } from "../event_store.ts";

/**
 * The results of an append already stored, or `undefined` when none of its
 * event ids is stored (a new append). An append is a retry when **every**
 * event id is stored, each on the append's stream with the same type, the
 * events of each stream at consecutive versions — what the first attempt
 * wrote. Anything in between (some ids stored, or stored elsewhere) is a
 * `DuplicateEventIdError` naming the first stored id.
 *
 * `stored` gives the stored event of an id, `undefined` when there is none;
 * a store reads the ids of the append (one query, or one key each) and
 * passes what it found.
 *
 * @throws {DuplicateEventIdError} when the append is partly stored, or its
 * ids are stored as other events.
 *
 * @example
 * ```ts
 * import { retriedAppend } from "@verdict/verdict/store-kit";
 * import type { RecordedEvent } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const stored = new Map<string, RecordedEvent>([["e-1", {
 *   id: "e-1", type: "Opened", data: null, metadata: {},
 *   streamId: "s", version: 1, position: 7, timestamp: new Date(0),
 * }]]);
 * const append = { streamId: "s", events: [{ id: "e-1", type: "Opened", data: null }] };
 * assert.equal(retriedAppend([append], (id) => stored.get(id))?.[0].nextExpectedVersion, 1);
 * assert.equal(retriedAppend([{ ...append, events: [{ id: "e-2", type: "Opened", data: null }] }], (id) => stored.get(id)), undefined);
 * ```
 */
export function retriedAppend<E extends Event = Event>(
  appends: readonly StreamAppend<E>[],
  stored: (id: string) => RecordedEvent<E> | undefined,
): AppendResult<E>[] | undefined {
  // One pass that allocates nothing: a new append (the usual case) ends here.
  let firstKnown: string | undefined;
  let unknown = false;
  for (const append of appends) {
    for (const event of append.events) {
      if (event.id !== undefined && stored(event.id)) firstKnown ??= event.id;
      else unknown = true;
    }
  }
  if (firstKnown === undefined) return undefined;
  if (unknown) throw new DuplicateEventIdError(firstKnown);
  return appends.map((append) => {
    const events = append.events.map((event) => stored(event.id!)!);
    events.forEach((event, i) => {
      if (
        event.streamId !== append.streamId || event.type !== append.events[i].type ||
        (i > 0 && event.version !== events[i - 1].version + 1)
      ) throw new DuplicateEventIdError(firstKnown!);
    });
    return {
      streamId: append.streamId,
      nextExpectedVersion: events.at(-1)?.version ?? 0,
      events,
    };
  });
}
