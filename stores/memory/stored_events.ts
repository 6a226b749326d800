/**
 * How the memory event store keeps events: checked copies made before an
 * append writes anything. The first read of an event freezes them, data and
 * metadata all the way down, and makes the event it hands out then and on
 * every later read, with no copy per read: no caller can change a frozen
 * event (in strict code, which every module is, an assignment throws a
 * `TypeError`), and its `timestamp` is a getter that answers a new `Date`
 * each time, so not even `setTime` reaches the store. An event never read
 * (a cached decider's hot path) costs none of that.
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

/** An event as the memory store keeps it. */
export class StoredEvent {
  /** The event as handed out, made on the first read. */
  #handedOut: RecordedEvent | undefined = undefined;

  constructor(
    readonly id: string,
    readonly type: string,
    readonly data: unknown,
    readonly metadata: EventMetadata,
    readonly streamId: string,
    readonly version: number,
    readonly position: number,
    readonly timestamp: number,
    /** The event's tags, a copy of the given list; undefined when none was given. */
    readonly tags: readonly string[] | undefined,
  ) {}

  /** The event as every reader gets it: the same frozen object each time. */
  get recorded(): RecordedEvent {
    return this.#handedOut ??= frozenEvent(this);
  }
}

/**
 * A list of stored events (one stream's, or all of them in global order)
 * beside the same events as handed out, made up to the furthest index any
 * read reached: a read is then one `slice` of that array.
 */
export class EventList {
  readonly stored: StoredEvent[] = [];
  readonly #handedOut: RecordedEvent[] = [];

  /** How many events the list holds. */
  get length(): number {
    return this.stored.length;
  }

  push(event: StoredEvent): void {
    this.stored.push(event);
  }

  /** The events from index `start`, at most `limit` of them, as handed out. */
  read(start: number, limit: number): RecordedEvent[] {
    const end = Math.min(this.stored.length, start + limit);
    if (end <= start) return [];
    const out = this.#handedOut;
    for (let i = out.length; i < end; i++) out.push(this.stored[i].recorded);
    return out.slice(start, end);
  }

  /** The event at index `i` (0-based), as handed out. */
  at(i: number): RecordedEvent {
    return this.#handedOut[i] ?? this.stored[i].recorded;
  }
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

/**
 * Freezes a copy made by `copyJson` (plain objects and arrays of JSON values)
 * all the way down.
 */
function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    for (const key in value) {
      // The copy's own keys only: a polluted prototype is not walked.
      if (Object.hasOwn(value, key)) deepFreeze(value[key]);
    }
  }
  return Object.freeze(value);
}

/** Where a stored event keeps its timestamp, out of sight of copies. */
const TIME: unique symbol = Symbol("verdict.memory.timestamp");

/**
 * The `timestamp` getter every stored event shares (one function, so the
 * events share one shape): a new `Date` on each read.
 */
function timestampGetter(this: { readonly [TIME]: number }): Date {
  return new Date(this[TIME]);
}

const TIMESTAMP: PropertyDescriptor = { get: timestampGetter, enumerable: true };

/**
 * A stored event as handed out: frozen, its data and metadata frozen in
 * place (the store's own copies, never handed out before), its `timestamp`
 * an own enumerable getter (so a spread or `structuredClone` copies it as a
 * `Date`) over a hidden number.
 */
function frozenEvent(stored: StoredEvent): RecordedEvent {
  const event = stored.tags === undefined
    ? {
      id: stored.id,
      type: stored.type,
      data: deepFreeze(stored.data),
      metadata: deepFreeze(stored.metadata),
      streamId: stored.streamId,
      version: stored.version,
      position: stored.position,
    }
    : {
      id: stored.id,
      type: stored.type,
      data: deepFreeze(stored.data),
      metadata: deepFreeze(stored.metadata),
      tags: Object.freeze(stored.tags),
      streamId: stored.streamId,
      version: stored.version,
      position: stored.position,
    };
  Object.defineProperty(event, "timestamp", TIMESTAMP);
  Object.defineProperty(event, TIME, { value: stored.timestamp });
  return Object.freeze(event) as unknown as RecordedEvent;
}
