/**
 * How the memory event store keeps events: checked copies made before an
 * append writes anything, and copies again when they are handed out, so no
 * caller can change what the store holds.
 *
 * @module
 */

import {
  type EventMetadata,
  type RecordedEvent,
  type StreamAppend,
  UnstorableDataError,
} from "../../mod.ts";
import {
  copyJson,
  copyProblem,
  undefinedDropped,
  UNSTORABLE,
} from "../../src/store_kit/stored_data.ts";
import { cloneData } from "./clone.ts";

/** An event as the memory store keeps it. */
export interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly streamId: string;
  readonly version: number;
  readonly position: number;
  readonly timestamp: number;
}

const EMPTY: EventMetadata = Object.freeze({});

/**
 * Checked copies of every event's data and metadata, in order, made before
 * anything is written: an event that cannot be stored refuses the whole
 * append. Events of one command usually share one metadata object: the
 * stored side (never handed out) keeps one copy of it for all of them.
 */
export function copiesOf(
  appends: readonly StreamAppend[],
): { data: unknown[]; metadata: EventMetadata[]; dropped: boolean } {
  const data: unknown[] = [];
  const metadata: EventMetadata[] = [];
  let dropped = false;
  let shared: EventMetadata | undefined;
  let sharedCopy: EventMetadata = EMPTY;
  for (const append of appends) {
    const events = append.events;
    for (let e = 0; e < events.length; e++) {
      const event = events[e];
      const copy = copyJson(event.data);
      if (copy === UNSTORABLE) throw unstorable(append.streamId, e, "data");
      dropped ||= undefinedDropped();
      data.push(copy);
      if (event.metadata !== shared) {
        shared = event.metadata;
        sharedCopy = shared === undefined
          ? EMPTY
          : copyMetadata(shared, append.streamId, e);
        dropped ||= undefinedDropped();
      }
      metadata.push(sharedCopy);
    }
  }
  return { data, metadata, dropped };
}

function copyMetadata(metadata: unknown, streamId: string, index: number): EventMetadata {
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw new UnstorableDataError(
      streamId,
      index,
      ["metadata"],
      `metadata must be a plain object, got ${
        metadata === null
          ? "null"
          : Array.isArray(metadata)
          ? "an array"
          : typeof metadata
      }`,
    );
  }
  const copy = copyJson(metadata);
  if (copy === UNSTORABLE) throw unstorable(streamId, index, "metadata");
  return copy as EventMetadata;
}

function unstorable(streamId: string, index: number, part: string): UnstorableDataError {
  const { path, problem } = copyProblem();
  return new UnstorableDataError(streamId, index, [part, ...path], problem);
}

/** A stored event as handed out: a copy, never the stored one. */
export function toRecorded(stored: StoredEvent): RecordedEvent {
  return {
    id: stored.id,
    type: stored.type,
    data: cloneData(stored.data),
    metadata: cloneData(stored.metadata),
    streamId: stored.streamId,
    version: stored.version,
    position: stored.position,
    timestamp: new Date(stored.timestamp),
  };
}
