/**
 * How the IndexedDB event store lays its events out in rows (one event, or
 * a slice of a long append), decodes them — damage reported, not returned —
 * and reads them back.
 *
 * @module
 */

import type { IDBPObjectStore } from "idb";
import {
  type AppendCondition,
  type AppendResult,
  type Event,
  EventDecodeError,
  eventMatchesQuery,
  type RecordedEvent,
  type StreamAppend,
} from "../../mod.ts";
import { retriedAppend, storedEventProblem } from "../../src/store_kit/mod.ts";
import {
  rowTags,
  type StoredEventRow,
  type StoredRow,
  type StoredSliceRow,
  type VerdictSchema,
} from "./database.ts";

export function rowToEvent<E extends Event>(
  row: StoredEventRow,
  position: number,
): RecordedEvent<E> {
  if (typeof row !== "object" || row === null || typeof row.streamId !== "string") {
    throw new EventDecodeError(position, row, "the row names no stream");
  }
  checkStored(row, row.id, row.version, position, row.streamId);
  return withTags(
    {
      id: row.id,
      type: row.type,
      data: row.data,
      metadata: row.metadata ?? {},
      streamId: row.streamId,
      version: row.version,
      position,
      timestamp: new Date(row.timestamp),
    } as RecordedEvent<E>,
    row.tags,
    position,
    row.streamId,
  );
}

/** Raises an `EventDecodeError` for a damaged event (see `storedEventProblem`). */
export function checkStored(
  event: {
    readonly type?: unknown;
    readonly data?: unknown;
    readonly metadata?: unknown;
  },
  id: unknown,
  version: unknown,
  position: number,
  streamId: string,
): void {
  if (typeof event !== "object" || event === null) {
    throw new EventDecodeError(position, event, "the event is not an object", {
      streamId,
    });
  }
  const problem = storedEventProblem({
    id,
    type: event.type,
    data: event.data,
    // Metadata is always written; an event without any reads as empty.
    metadata: event.metadata === undefined ? {} : event.metadata,
    version,
  });
  if (problem !== undefined) {
    throw new EventDecodeError(position, event, problem, {
      streamId,
      version: typeof version === "number" ? version : undefined,
    });
  }
}

/** An append of at least this many events to one stream is stored in slices. */
export const SLICE_FROM = 8;
/** The most events one slice holds. */
export const SLICE_SIZE = 100;

/** The events store of an append's transaction. */
export type EventsStore = IDBPObjectStore<
  VerdictSchema,
  ArrayLike<"events" | "commands" | "documents">,
  "events",
  "readonly" | "readwrite"
>;

/** A row to add, and where its events are in the append. */
export interface PlannedRow {
  readonly stream: number;
  readonly from: number;
  readonly row: StoredRow;
}

/**
 * The rows of an append: its events one by one, or, for a stream given
 * `SLICE_FROM` events or more, in slices of up to `SLICE_SIZE`.
 */
export function planRows(
  appends: readonly StreamAppend[],
  ids: readonly (readonly string[])[],
  actual: readonly number[],
  timestamp: number,
): PlannedRow[] {
  const planned: PlannedRow[] = [];
  for (let stream = 0; stream < appends.length; stream++) {
    const { streamId, events } = appends[stream];
    if (events.length < SLICE_FROM) {
      for (let e = 0; e < events.length; e++) {
        const event = events[e];
        planned.push({
          stream,
          from: e,
          row: {
            id: ids[stream][e],
            streamId,
            version: actual[stream] + e + 1,
            type: event.type,
            data: event.data,
            metadata: event.metadata ?? {},
            ...(event.tags === undefined ? {} : { tags: [...event.tags] }),
            ...(event.tags?.length ? { qt: [...new Set(event.tags)] } : {}),
            timestamp,
          },
        });
      }
      continue;
    }
    for (let from = 0; from < events.length; from += SLICE_SIZE) {
      const to = Math.min(from + SLICE_SIZE, events.length);
      planned.push({
        stream,
        from,
        row: {
          id: ids[stream].slice(from, to),
          streamId,
          version: actual[stream] + from + 1,
          events: events.slice(from, to).map((event) => ({
            type: event.type,
            data: event.data,
            metadata: event.metadata ?? {},
            ...(event.tags === undefined ? {} : { tags: [...event.tags] }),
          })),
          timestamp,
        },
      });
      const tags = rowTags(planned[planned.length - 1].row);
      if (tags) planned[planned.length - 1].row.qt = tags;
    }
  }
  return planned;
}

export function isSlice(row: StoredRow): row is StoredSliceRow {
  return Array.isArray((row as StoredSliceRow).events);
}

export function rowLength(row: StoredRow): number {
  return isSlice(row) ? row.events.length : 1;
}

/** The version of a row's last event. */
export function lastVersionOf(row: StoredRow): number {
  return row.version + rowLength(row) - 1;
}

/** The events of a row whose key (its last event's position) is `position`. */
export function rowEvents<E extends Event>(
  row: StoredRow,
  position: number,
): RecordedEvent<E>[] {
  if (!isSlice(row)) return [rowToEvent<E>(row, position)];
  const { id, events } = row;
  if (
    typeof row.streamId !== "string" || !Array.isArray(id) ||
    id.length !== events.length || events.length === 0
  ) throw new EventDecodeError(position, row, "the slice row is damaged");
  const first = position - events.length + 1;
  return events.map((event, i) => {
    checkStored(event, id[i], row.version + i, first + i, row.streamId);
    return withTags(
      {
        id: id[i],
        type: event.type,
        data: event.data,
        metadata: event.metadata ?? {},
        streamId: row.streamId,
        version: row.version + i,
        position: first + i,
        timestamp: new Date(row.timestamp),
      } as RecordedEvent<E>,
      event.tags,
      first + i,
      row.streamId,
    );
  });
}

/** The stream version an expectation pins down, if it pins one. */
export function knownVersion(
  expected: StreamAppend["expectedVersion"],
): number | undefined {
  if (typeof expected === "number") return expected;
  return expected === "no_stream" ? 0 : undefined;
}

/**
 * Marks a request's promise as handled: when one request fails and the
 * transaction aborts, the others reject too, and they must not surface as
 * unhandled rejections. Whoever awaits the promise still sees its outcome.
 */
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * Adds the rows in order and answers each one's key. A row alone takes the
 * next auto-increment key: its position. A slice's key is its last event's
 * position, so with slices every key is counted on from the last one
 * stored. IndexedDB runs a transaction's requests in order: keys follow the
 * events' order.
 */
export async function addRows(
  events: IDBPObjectStore<
    VerdictSchema,
    ArrayLike<"events" | "commands" | "documents">,
    "events",
    "readwrite"
  >,
  planned: readonly PlannedRow[],
): Promise<Promise<number>[]> {
  if (!planned.some(({ row }) => isSlice(row))) {
    return planned.map(({ row }) => quiet(events.add(row)));
  }
  let last = (await quiet(events.openKeyCursor(null, "prev")))?.key ?? 0;
  return planned.map(({ row }) => {
    row.position = last += rowLength(row);
    return quiet(events.add(row));
  });
}

/** The results of an append whose rows were added under `keys`. */
export async function appendedResults<E extends Event>(
  appends: readonly StreamAppend<E>[],
  ids: readonly (readonly string[])[],
  actual: readonly number[],
  timestamp: number,
  planned: readonly PlannedRow[],
  keys: readonly Promise<number>[],
): Promise<AppendResult<E>[]> {
  const positions = appends.map((append) => new Array<number>(append.events.length));
  for (let r = 0; r < planned.length; r++) {
    const { stream, from, row } = planned[r];
    const first = await keys[r] - rowLength(row) + 1;
    for (let i = 0; i < rowLength(row); i++) positions[stream][from + i] = first + i;
  }
  return appends.map((append, s) => ({
    streamId: append.streamId,
    nextExpectedVersion: actual[s] + append.events.length,
    events: append.events.map((event, e) =>
      ({
        id: ids[s][e],
        type: event.type,
        data: event.data,
        metadata: event.metadata ?? {},
        streamId: append.streamId,
        version: actual[s] + e + 1,
        position: positions[s][e],
        timestamp: new Date(timestamp),
        ...(event.tags === undefined ? {} : { tags: event.tags }),
      }) as RecordedEvent<E>
    ),
  }));
}

/** The first result again when the append is stored; see `retriedAppend`. */
export async function retriedIn<E extends Event>(
  events: EventsStore,
  appends: readonly StreamAppend<E>[],
): Promise<AppendResult<E>[] | undefined> {
  const ids = appends.flatMap((a) => a.events.map((event) => event.id));
  // Keys first: for new events (the usual case) nothing more is read.
  const keys = await Promise.all(
    ids.map((id) => id === undefined ? undefined : quiet(events.index("id").getKey(id))),
  );
  if (keys.every((key) => key === undefined)) return undefined;
  const rows = await Promise.all(
    [...new Set(keys)].filter((key) => key !== undefined).map((key) =>
      quiet(events.get(key)).then((row) => rowEvents<E>(row!, key))
    ),
  );
  const stored = new Map(rows.flat().map((event) => [event.id, event]));
  return retriedAppend(appends, (id) => stored.get(id));
}

/**
 * The event with its stored tags, when it has any; tags that are not a list
 * of strings are damage, reported as an `EventDecodeError`.
 */
function withTags<E extends Event>(
  event: RecordedEvent<E>,
  tags: unknown,
  position: number,
  streamId: string,
): RecordedEvent<E> {
  if (tags === undefined) return event;
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string")) {
    throw new EventDecodeError(position, tags, "its tags are not a list of strings", {
      streamId,
      version: event.version,
    });
  }
  return { ...event, tags } as RecordedEvent<E>;
}

/**
 * The first event of `rows` (every row after `after`, read in the append's
 * own transaction before its writes) that matches the condition's query:
 * its position, or undefined when none does.
 */
export function firstMatch(
  rows: readonly StoredRow[],
  condition: AppendCondition,
): number | undefined {
  for (const row of rows) {
    for (const event of rowEvents(row, row.position!)) {
      if (
        event.position > condition.after &&
        eventMatchesQuery(event, condition.failIfEventsMatch)
      ) return event.position;
    }
  }
  return undefined;
}
