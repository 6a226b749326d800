/**
 * The event store port: what every store (memory, PostgreSQL, Deno KV,
 * IndexedDB, or your own) must do. The contract suite in `./testing` checks
 * it.
 *
 * @module
 */

import type { CommandLogStore, CommandRecord } from "./command_log.ts";
import type { ExpectedVersion } from "./errors.ts";
import type { Event, NewEvent, RecordedEvent } from "./event.ts";
import type { AppendCondition, EventQuery } from "./event_query.ts";

export type { ExpectedVersion } from "./errors.ts";

/**
 * Options of a single-stream append.
 *
 * @example
 * ```ts
 * import type { AppendOptions } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = new MemoryEventStore();
 * const first = await store.appendToStream("s", [{ type: "A", data: {} }]);
 * const options: AppendOptions = { expectedVersion: first.nextExpectedVersion };
 * await store.appendToStream("s", [{ type: "B", data: {} }], options);
 * ```
 */
export interface AppendOptions {
  /**
   * What the stream's version must be for the append to happen: an exact
   * version (0 = no stream), `"no_stream"`, `"stream_exists"` or `"any"`
   * (the default).
   */
  readonly expectedVersion?: ExpectedVersion;
  /**
   * Builds a command record to commit in the same transaction as the events.
   * The store calls it once it knows the ids of the events it is writing,
   * and writes the record to its {@linkcode EventStore.commandLog}; a store
   * without one refuses the option. If the record cannot be written, no
   * event is; if the events cannot be, no record is.
   */
  readonly commandRecord?: (written: WrittenEvents) => CommandRecord;
  /**
   * Stops the append when aborted: a store checks it before it commits and
   * fails with the signal's reason; an append aborted while its commit is
   * under way may still land (send it again, with the same event ids, to
   * find out). The decider handler passes the command's signal.
   */
  readonly signal?: AbortSignal;
  /**
   * Commits the append only if no event matching the condition's query has
   * a position after the condition's `after`; otherwise nothing is written
   * and the append fails with an `AppendConditionError`. Checked in the same
   * transaction as the expected versions and the command record. Stores that
   * keep tags (`readQuery` present) support it; others refuse it.
   */
  readonly condition?: AppendCondition;
}

/**
 * Options of {@linkcode EventStore.readQuery}.
 *
 * @example Read only what matched since an earlier read
 * ```ts
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const query = [{ tags: ["course:c1"] }];
 * await store.appendToStream("c1", [{ type: "A", data: {}, tags: ["course:c1"] }]);
 * const first = await store.readQuery(query);
 * await store.appendToStream("c1", [{ type: "B", data: {}, tags: ["course:c1"] }]);
 * const newer = await store.readQuery(query, { after: first.head });
 * assert.deepEqual(newer.events.map((e) => e.type), ["B"]);
 * ```
 */
export interface ReadQueryOptions {
  /**
   * Read the matching events whose position is greater than this (default
   * 0): the head of an earlier read, to catch up on it.
   */
  readonly after?: number;
  /** Stops the read when aborted: the store fails with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * What {@linkcode EventStore.readQuery} returns: the matching events in
 * global order, and the head to condition an append on.
 *
 * @example
 * ```ts
 * import type { QueryResult } from "@verdict/verdict";
 *
 * const nothingYet: QueryResult = { events: [], head: 0 };
 * ```
 */
export interface QueryResult<E extends Event = Event> {
  /** The events matching the query, in global order. */
  readonly events: RecordedEvent<E>[];
  /**
   * A position such that any event committed after the read has a greater
   * one: pass it as an append condition's `after`.
   */
  readonly head: number;
}

/**
 * What an append is about to write: handed to the command-record builder.
 *
 * @example Commit a command record with the events
 * ```ts
 * import { type WrittenEvents } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog: log });
 * const record = sampleCommandRecord();
 * await store.appendToStream("s", [{ type: "A", data: {} }], {
 *   commandRecord: (written: WrittenEvents) => ({ ...record, ...written }),
 * });
 * const [event] = await store.readStream("s");
 * assert.deepEqual((await log.get(record.id))?.eventIds, [event.id]);
 * ```
 */
export interface WrittenEvents {
  /** The ids of the events, in the order written. */
  readonly eventIds: readonly string[];
  /** The streams that receive events, in the order given. */
  readonly streamIds: readonly string[];
}

/**
 * One stream's part of a multi-stream append.
 *
 * @example
 * ```ts
 * import type { StreamAppend } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = new MemoryEventStore();
 * const appends: StreamAppend[] = [
 *   { streamId: "account-a", events: [{ type: "Debited", data: { amount: 5 } }] },
 *   { streamId: "account-b", events: [{ type: "Credited", data: { amount: 5 } }] },
 * ];
 * await store.appendToStreams(appends);
 * ```
 */
export interface StreamAppend<E extends Event = Event> {
  /** The stream to append to. */
  readonly streamId: string;
  /** The events to append, in order. */
  readonly events: readonly NewEvent<E>[];
  /** This stream's expected version (default `"any"`). */
  readonly expectedVersion?: ExpectedVersion;
}

/**
 * What an append wrote to one stream.
 *
 * @example
 * ```ts
 * import type { AppendResult } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const result: AppendResult = await store.appendToStream("s", [
 *   { type: "A", data: {} },
 *   { type: "B", data: {} },
 * ]);
 * assert.equal(result.nextExpectedVersion, 2);
 * assert.deepEqual(result.events.map((e) => e.version), [1, 2]);
 * ```
 */
export interface AppendResult<E extends Event = Event> {
  /** The stream appended to. */
  readonly streamId: string;
  /** The stream's version after the append: pass it as the next expected version. */
  readonly nextExpectedVersion: number;
  /** The events as recorded, with ids, versions and positions. */
  readonly events: readonly RecordedEvent<E>[];
}

/**
 * Options of {@linkcode EventStore.readStream}.
 *
 * @example The last three events, newest first
 * ```ts
 * import type { ReadStreamOptions } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("s", [1, 2, 3, 4, 5].map((n) => ({ type: "N", data: n })));
 * const options: ReadStreamOptions = { direction: "backward", limit: 3 };
 * const events = await store.readStream("s", options);
 * assert.deepEqual(events.map((e) => e.version), [5, 4, 3]);
 * ```
 */
export interface ReadStreamOptions {
  /**
   * The first version to read (inclusive). Forward reads default to 1,
   * backward reads to the stream's last version.
   */
  readonly from?: number;
  /** Read at most this many events. */
  readonly limit?: number;
  /** `"forward"` (default) from old to new, `"backward"` from new to old. */
  readonly direction?: "forward" | "backward";
  /** Stops the read when aborted: the store fails with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Options of {@linkcode EventStore.readAll}.
 *
 * @example Page through the global log
 * ```ts
 * import type { ReadAllOptions } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("a", [{ type: "A", data: 1 }, { type: "A", data: 2 }]);
 * await store.appendToStream("b", [{ type: "B", data: 3 }]);
 * let checkpoint = 0;
 * let seen = 0;
 * while (true) {
 *   const options: ReadAllOptions = { after: checkpoint, limit: 2 };
 *   const page = await store.readAll(options);
 *   if (page.length === 0) break;
 *   seen += page.length;
 *   checkpoint = page[page.length - 1].position;
 * }
 * assert.equal(seen, 3);
 * ```
 */
export interface ReadAllOptions {
  /** Read events whose global position is greater than this (default 0). */
  readonly after?: number;
  /** Read at most this many events. */
  readonly limit?: number;
  /** Stops the read when aborted: the store fails with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * An event store: append-only streams of events, with a global order that
 * every reader sees the same way.
 *
 * Guarantees every implementation must give (the contract suite checks them):
 * - every expected-version mode is enforced, also under concurrent writers,
 *   and a conflict is a {@linkcode ConcurrencyError} carrying the real
 *   actual version;
 * - a multi-stream append is all-or-nothing;
 * - `readAll` returns events in strictly increasing position order (not
 *   necessarily consecutive numbers) with no event ever missed: none appears
 *   later behind a position already read,
 *   and a reader never sees a position before an earlier one has committed;
 * - a retried append with the same event ids returns the first result;
 * - returned events never alias stored ones;
 * - one data model: ids follow one rule and event data and metadata are
 *   JSON values, checked for the whole append before anything is written
 *   (`checkAppends`; `InvalidIdError`, `UnstorableDataError`);
 * - storage damaged behind the store's back is reported with an
 *   `EventDecodeError` naming the event, never returned silently wrong.
 *
 * @example Code written against the port runs on any store
 * ```ts
 * import type { EventStore } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * async function countEvents(store: EventStore): Promise<number> {
 *   return (await store.readAll()).length;
 * }
 * const store = new MemoryEventStore();
 * await store.appendToStream("s", [{ type: "A", data: {} }]);
 * assert.equal(await countEvents(store), 1);
 * ```
 */
export interface EventStore {
  /**
   * The command log that commits in the same transaction as this store's
   * appends, when the store has one. The decider handler uses it to write an
   * accepted command's audit record atomically with its events.
   */
  readonly commandLog?: CommandLogStore;

  /** Appends events to one stream, checking its expected version. */
  appendToStream<E extends Event = Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ): Promise<AppendResult<E>>;

  /**
   * Appends to several streams in one transaction: either every stream's
   * expected version holds and all events are written, or nothing is.
   */
  appendToStreams<E extends Event = Event>(
    appends: readonly StreamAppend<E>[],
    options?: Omit<AppendOptions, "expectedVersion">,
  ): Promise<AppendResult<E>[]>;

  /**
   * Reads one stream's events (empty for a stream that does not exist).
   * Read events are the caller's to keep but not to change: a store hands
   * out either copies or frozen events (the memory store's, where changing
   * one throws a `TypeError`); what it holds never changes either way.
   * Spread an event to change a copy of it.
   */
  readStream<E extends Event = Event>(
    streamId: string,
    options?: ReadStreamOptions,
  ): Promise<RecordedEvent<E>[]>;

  /**
   * Reads events by their ids, in the order given; an id the store does
   * not hold is left out. The decider handler reads an already committed
   * command's events with it, to answer a retry with the original result.
   * Optional for stores of your own: without it such a retry is answered
   * with the command's stream versions but no events.
   */
  readEvents?<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]>;

  /**
   * Reads every stream's events in global order after a position; like
   * `readStream`'s, they may be frozen.
   */
  readAll<E extends Event = Event>(
    options?: ReadAllOptions,
  ): Promise<RecordedEvent<E>[]>;

  /**
   * Reads the events matching `query`, whatever their streams, in global
   * order, and the head to condition an append on (see `AppendCondition`).
   * Present on stores that keep tags and check append conditions.
   */
  readQuery?<E extends Event = Event>(
    query: EventQuery,
    options?: ReadQueryOptions,
  ): Promise<QueryResult<E>>;

  /** The stream's current version: its last event's version, 0 when it has none. */
  streamVersion(streamId: string): Promise<number>;

  /** Releases the store's resources; later calls fail with `StoreClosedError`. */
  close(): Promise<void>;
}

/**
 * A store that can tell a follower when new events may have arrived, so the
 * follower need not poll. Stores implement it with what they have: an
 * in-process signal, a KV watch, LISTEN/NOTIFY, a BroadcastChannel.
 *
 * @example Wait for the next append
 * ```ts
 * import type { AppendNotifier } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = new MemoryEventStore();
 * const notifier: AppendNotifier = store;
 * const woken = notifier.waitForEvents(0, new AbortController().signal);
 * await store.appendToStream("s", [{ type: "A", data: {} }]);
 * await woken;
 * ```
 */
export interface AppendNotifier {
  /**
   * Resolves once events after `position` may exist: at once if they already
   * do, otherwise on the next append this store can see, or when `signal`
   * aborts. It may also resolve early; followers re-read either way.
   */
  waitForEvents(position: number, signal: AbortSignal): Promise<void>;
}
