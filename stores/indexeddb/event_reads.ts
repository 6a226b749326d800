/**
 * The IndexedDB event store's reads: one stream by its [streamId, version]
 * index, events by id, and all events by position (a row's key).
 *
 * @module
 */

import {
  type Event,
  eventMatchesQuery,
  type EventQuery,
  type QueryResult,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
} from "../../mod.ts";
import { assertStreamSequence } from "../../src/store_kit/mod.ts";
import type { StoredRow, VerdictDatabase } from "./database.ts";
import { isSlice, lastVersionOf, rowEvents } from "./event_rows.ts";
import type { SeenVersions } from "./seen_versions.ts";

/** The last version stored of a stream (0 when none), by the stream index. */
export async function lastVersion(
  index: {
    openCursor(
      range: IDBKeyRange,
      direction: IDBCursorDirection,
    ): Promise<{ value: StoredRow } | null>;
  },
  streamId: string,
): Promise<number> {
  const cursor = await index.openCursor(
    IDBKeyRange.bound([streamId, 0], [streamId, Infinity]),
    "prev",
  );
  return cursor ? lastVersionOf(cursor.value) : 0;
}

/**
 * One stream's events, in either direction; `saw` learns the last version
 * stored, as read on the connection.
 */
export async function readStreamRows<E extends Event>(
  database: VerdictDatabase,
  streamId: string,
  options: ReadStreamOptions,
  seen: SeenVersions,
): Promise<RecordedEvent<E>[]> {
  const limit = options.limit ?? Infinity;
  if (limit === 0) return [];
  const db = await database.open();
  const connection = database.connections;
  const index = db.transaction("events").store.index("stream");
  const out: RecordedEvent<E>[] = [];
  if (options.direction === "backward") {
    const from = options.from ?? Number.MAX_SAFE_INTEGER;
    for (
      let cursor = await index.openCursor(
        IDBKeyRange.bound([streamId, 0], [streamId, from]),
        "prev",
      );
      cursor && out.length < limit;
      cursor = await cursor.continue()
    ) {
      const events = rowEvents<E>(cursor.value, cursor.primaryKey);
      for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
        if (events[i].version <= from) out.push(events[i]);
      }
    }
    assertStreamSequence(out, streamId, from, "backward");
    return out;
  }
  const from = options.from ?? 1;
  // Rows are indexed by their first version: the slice holding `from`
  // may begin before it. Each row holds at least one event, so `limit`
  // rows are enough.
  const [before, rows] = await Promise.all([
    from > 1
      ? index.openCursor(
        IDBKeyRange.bound([streamId, 0], [streamId, from], false, true),
        "prev",
      )
      : undefined,
    index.getAll(
      IDBKeyRange.bound([streamId, from], [streamId, Number.MAX_SAFE_INTEGER]),
      Number.isFinite(limit) ? limit : undefined,
    ),
  ]);
  if (before && isSlice(before.value)) {
    for (const event of rowEvents<E>(before.value, before.primaryKey)) {
      if (event.version >= from) out.push(event);
    }
  }
  for (const row of rows) {
    for (const event of rowEvents<E>(row, row.position!)) out.push(event);
  }
  // The end of a row is a version stored: the next row (if any) begins
  // right after it, which is what lets an append expecting it skip a read.
  const last = rows.at(-1) ?? before?.value;
  if (last) seen.saw(streamId, lastVersionOf(last), connection);
  if (out.length > limit) out.length = limit;
  assertStreamSequence(out, streamId, from, "forward");
  return out;
}

/** Reads events by id, in the order given; unknown ids are left out. */
export async function readEventsByIds<E extends Event>(
  database: VerdictDatabase,
  ids: readonly string[],
): Promise<RecordedEvent<E>[]> {
  const db = await database.open();
  const events = db.transaction("events").store;
  const found = await Promise.all(ids.map(async (id) => {
    const key = await events.index("id").getKey(id);
    if (key === undefined) return undefined;
    const row = await events.get(key);
    return row && rowEvents<E>(row, key).find((event) => event.id === id);
  }));
  return found.filter((event) => event !== undefined);
}

/** Reads all events in global order after a position. */
export async function readAllRows<E extends Event>(
  database: VerdictDatabase,
  options: ReadAllOptions,
): Promise<RecordedEvent<E>[]> {
  if (options.limit === 0) return [];
  const after = options.after ?? 0;
  const limit = options.limit;
  const db = await database.open();
  // A row's key is its last event's position.
  const range = IDBKeyRange.lowerBound(after, true);
  let rows: StoredRow[];
  if (limit === undefined) {
    rows = await db.getAll("events", range);
  } else {
    // Keys first, so that a page never reads slices it does not return:
    // the rows wanted end at the first key that reaches after + limit.
    const store = db.transaction("events").store;
    const keys = await store.getAllKeys(range, limit);
    if (keys.length === 0) return [];
    const end = keys.find((key) => key >= after + limit) ?? keys[keys.length - 1];
    rows = await store.getAll(IDBKeyRange.bound(keys[0], end));
  }
  const out: RecordedEvent<E>[] = [];
  for (const row of rows) {
    for (const event of rowEvents<E>(row, row.position!)) {
      if (event.position > after) out.push(event);
    }
  }
  if (limit !== undefined && out.length > limit) out.length = limit;
  return out;
}

/**
 * The events matching `query`, in position order, and the head: the last
 * position in the store, read in the same transaction as the events.
 */
export async function readQueryRows<E extends Event>(
  database: VerdictDatabase,
  query: EventQuery,
  after: number,
): Promise<QueryResult<E>> {
  const db = await database.open();
  const store = db.transaction("events").store;
  // A row's key is its last event's position. When every item names a tag,
  // the rows of each item's first tag, by the tag index (every event the
  // item matches carries that tag); else the rows after `after`. And the
  // last key (the head), in the same transaction.
  const firstTags = query === "all" || query.some((item) => !item.tags)
    ? undefined
    : [...new Set(query.map((item) => item.tags![0]))];
  const [found, last] = await Promise.all([
    firstTags
      ? Promise.all(
        firstTags.map((tag) => store.index("tag").getAll(IDBKeyRange.only(tag))),
      )
      : store.getAll(IDBKeyRange.lowerBound(after, true)).then((rows) => [rows]),
    store.openKeyCursor(null, "prev"),
  ]);
  // Each tag's rows come in key order; a row of several tags comes once.
  const rows = found.length === 1 ? found[0] : [
    ...new Map(found.flat().map((row) => [row.position!, row])).values(),
  ].sort((a, b) => a.position! - b.position!);
  const events: RecordedEvent<E>[] = [];
  for (const row of rows) {
    if (row.position! <= after) continue;
    for (const event of rowEvents<E>(row, row.position!)) {
      if (event.position > after && eventMatchesQuery(event, query)) events.push(event);
    }
  }
  return { events, head: last?.key ?? 0 };
}
