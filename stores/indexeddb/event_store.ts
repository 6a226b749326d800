/**
 * The IndexedDB event store.
 *
 * @module
 */

import {
  AppendConditionError,
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type Clock,
  CommandAlreadyRecordedError,
  ConcurrencyError,
  DuplicateEventIdError,
  type Event,
  type EventQuery,
  type EventStore,
  type InlineProjections,
  type NewEvent,
  type QueryResult,
  type ReadAllOptions,
  type ReadQueryOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StoreClosedError,
  type StreamAppend,
  systemClock,
} from "../../mod.ts";
import {
  assertValidEventQuery,
  assertValidProjections,
  assertValidReadAllOptions,
  assertValidReadQueryOptions,
  assertValidReadStreamOptions,
  assertValidStreamId,
  checkAppends,
  checkExpectedVersion,
  planAppend,
  projectedEvents,
} from "../../src/store_kit/mod.ts";
import type { IndexedDbCommandLog } from "./command_log.ts";
import type { IndexedDbDocumentStore } from "./document_store.ts";
import { abortQuietly, translateStorageError, VerdictDatabase } from "./database.ts";
import {
  addRows,
  appendedResults,
  firstMatch,
  knownVersion,
  planRows,
  quiet,
  retriedIn,
} from "./event_rows.ts";
import {
  lastVersion,
  readAllRows,
  readEventsByIds,
  readQueryRows,
  readStreamRows,
} from "./event_reads.ts";
import { TabWakeUps } from "./wake_ups.ts";
import { SeenVersions } from "./seen_versions.ts";

/**
 * Options of {@linkcode IndexedDbEventStore}.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import {
 *   IndexedDbEventStore,
 *   type IndexedDbEventStoreOptions,
 *   VerdictDatabase,
 * } from "@verdict/verdict/indexeddb";
 *
 * const options: IndexedDbEventStoreOptions = {
 *   database: new VerdictDatabase("example-options"),
 *   durability: "relaxed", // faster; a crash may lose the last commits
 * };
 * const store = new IndexedDbEventStore(options);
 * await store.close();
 * ```
 */
export interface IndexedDbEventStoreOptions {
  /** The database (default: one named `"verdict"`); share it with the other stores. */
  readonly database?: VerdictDatabase;
  /**
   * A command log on the same database whose records commit in the append's
   * transaction (for atomic audit).
   */
  readonly commandLog?: IndexedDbCommandLog;
  /**
   * The durability of append transactions (default `"strict"`: the browser
   * reports a commit only once it is on disk).
   */
  readonly durability?: "strict" | "relaxed" | "default";
  /** The clock for event timestamps (default: the system clock). */
  readonly clock?: Clock;
  /**
   * Document projections kept inside every append's transaction (their
   * store must use the same `VerdictDatabase`).
   */
  readonly inlineProjections?: InlineProjections<IndexedDbDocumentStore>;
  /**
   * The shortest time, in milliseconds, between two messages this store
   * posts to other tabs (default 10). The first append after a quiet spell
   * tells them at once; appends within the interval share one message at
   * its end. Followers in this tab are woken at every commit. 0 posts after
   * every append.
   */
  readonly announceInterval?: number;
}

/**
 * An event store in the browser's IndexedDB, for offline-first apps: the
 * same aggregates as on the server, kept across reloads.
 *
 * An append is one readwrite transaction over the events and — for an
 * accepted audited command — the command log: it checks the expected
 * versions and event ids, adds the events and the record, or aborts and
 * writes nothing. Nothing but IndexedDB is awaited inside it. Each row of
 * the events store holds one event or, for an append of many events to one
 * stream, a slice of up to 100 of them (Chromium spends most of a write on
 * the request itself: in a probe page, 1,000 events written as 10 rows
 * took about 30 ms, as 1,000 rows 100–130 ms). A row is indexed by its stream and first
 * version in a unique [streamId, version] index, so writing version N + 1
 * fails when another writer got there first, and the last row of that index
 * holds the stream's head. An append that expects version N of a stream
 * this store has seen at N (it wrote or read it) needs no read at all: the
 * index proves the rest. A row's key is its last event's position: the
 * events store's auto-increment key, or counted from the last key for a
 * batch with slices. Keys follow commit order because readwrite
 * transactions on the events store never overlap.
 * Other tabs of the origin learn of appends through a BroadcastChannel
 * (throttled: see `announceInterval`), so a follower in any tab sees them.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto"; // in a browser, IndexedDB is simply there
 * import { IndexedDbEventStore, VerdictDatabase } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const store = new IndexedDbEventStore({ database: new VerdictDatabase("example-events") });
 * await store.appendToStream("account-1", [{ type: "Opened", data: {} }], {
 *   expectedVersion: "no_stream",
 * });
 * assert.equal(await store.streamVersion("account-1"), 1);
 * await store.close();
 * ```
 */
export class IndexedDbEventStore implements EventStore, AppendNotifier {
  /** The log whose records commit atomically with appends, if one was given. */
  readonly commandLog?: IndexedDbCommandLog;
  readonly #database: VerdictDatabase;
  readonly #durability: "strict" | "relaxed" | "default";
  readonly #clock: Clock;
  readonly #inline?: InlineProjections<IndexedDbDocumentStore>;
  readonly #wakeUps: TabWakeUps;
  /** Per stream, a version this store saw stored; see `SeenVersions`. */
  readonly #seen = new SeenVersions();
  #closed = false;

  /** Creates a store; the database opens on first use. */
  constructor(options: IndexedDbEventStoreOptions = {}) {
    this.#database = options.database ?? new VerdictDatabase("verdict");
    this.commandLog = options.commandLog;
    if (this.commandLog && !this.commandLog.sharesDatabase(this.#database)) {
      throw new TypeError(
        "The command log must use the same VerdictDatabase as the event store",
      );
    }
    if (options.inlineProjections) {
      assertValidProjections(options.inlineProjections.projections);
      if (!options.inlineProjections.store.sharesDatabase(this.#database)) {
        throw new TypeError(
          "The inline projections' store must use the same VerdictDatabase as the event store",
        );
      }
      this.#inline = options.inlineProjections;
    }
    this.#wakeUps = new TabWakeUps(this.#database.name, options.announceInterval ?? 10);
    this.#durability = options.durability ?? "strict";
    this.#clock = options.clock ?? systemClock;
  }

  /** The database this store writes to. */
  get database(): VerdictDatabase {
    return this.#database;
  }

  /** Appends events to one stream, checking its expected version. */
  async appendToStream<E extends Event = Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions = {},
  ): Promise<AppendResult<E>> {
    const [result] = await this.#append<E>([{
      streamId,
      events,
      expectedVersion: options.expectedVersion,
    }], options);
    return result;
  }

  /** Appends to several streams in one transaction. */
  appendToStreams<E extends Event = Event>(
    appends: readonly StreamAppend<E>[],
    options: Omit<AppendOptions, "expectedVersion"> = {},
  ): Promise<AppendResult<E>[]> {
    return this.#append(appends, options);
  }

  async #append<E extends Event>(
    given: readonly StreamAppend<E>[],
    options: Pick<AppendOptions, "commandRecord" | "signal" | "condition">,
  ): Promise<AppendResult<E>[]> {
    this.#assertOpen();
    const checked = checkAppends(given, {
      commandRecord: options.commandRecord,
      commandLog: this.commandLog,
      condition: options.condition,
      queries: true,
    });
    const appends = checked.appends as readonly StreamAppend<E>[];
    const givenIds = checked.givenIds;
    options.signal?.throwIfAborted();
    const timestamp = this.#clock.now();
    const { ids, record } = planAppend(appends, options);
    const db = await this.#database.open();
    const connection = this.#database.connections;
    this.#seen.forgetIfReconnected(connection);
    const scope: ("events" | "commands" | "documents")[] = ["events"];
    if (record) scope.push("commands");
    if (this.#inline) scope.push("documents");
    const tx = db.transaction(scope, "readwrite", { durability: this.#durability });
    const events = tx.objectStore("events");
    const results: AppendResult<E>[] = [];
    try {
      // Only IndexedDB requests are awaited from here to the commit. A
      // resend of an append already stored is looked for only once something
      // fails (below): the "id" index is unique, so a taken id fails the add.
      // Adding version N + 1 fails if it exists, so an append expecting N
      // needs to read only when the store has not seen version N stored
      // (nothing to see for 0). Expectations without a number read first.
      // The rows after the condition's position, read by one request queued
      // before any write of this transaction: they are what others committed
      // since the read the condition names, never this append's own rows.
      const condition = options.condition;
      const newer = condition &&
        quiet(events.getAll(IDBKeyRange.lowerBound(condition.after, true)));
      const known = appends.map((a) => knownVersion(a.expectedVersion));
      const headReads = appends.map((append, s) =>
        known[s] === undefined || append.events.length === 0 ||
          (known[s]! > 0 && this.#seen.get(append.streamId) !== known[s])
          ? quiet(lastVersion(events.index("stream"), append.streamId))
          : undefined
      );
      const check = (heads: (number | undefined)[]) =>
        appends.map((append, s) => {
          const actual = heads[s] ?? known[s]!;
          checkExpectedVersion(append.streamId, append.expectedVersion ?? "any", actual);
          return actual;
        });
      // When every expectation names a version, the writes are queued at
      // once and the heads read are checked before the commit (a mismatch
      // aborts it): one trip through the event loop.
      const pipelined = known.every((version) => version !== undefined);
      const actual = pipelined ? known as number[] : check(await Promise.all(headReads));
      const planned = planRows(appends, ids, actual, timestamp);
      const keys = await addRows(events, planned);
      const pending: Promise<unknown>[] = [...keys];
      if (record) {
        pending.push(
          this.commandLog!.addInTransaction(tx.objectStore("commands"), record),
        );
      }
      if (this.#inline) {
        pending.push(this.#inline.store.projectInTransaction(
          tx.objectStore("documents"),
          this.#inline.projections,
          projectedEvents(appends, ids, actual, timestamp),
        ));
      }
      if (pipelined && headReads.some((read) => read !== undefined)) {
        pending.push(Promise.all(headReads).then(check));
      }
      if (newer) {
        pending.push(newer.then((rows) => {
          const position = firstMatch(rows, condition!);
          if (position !== undefined) {
            throw new AppendConditionError(position, condition!.after);
          }
        }));
      }
      await Promise.all(pending);
      results.push(
        ...await appendedResults(appends, ids, actual, timestamp, planned, keys),
      );
      await tx.done;
    } catch (error) {
      await abortQuietly(tx);
      const constraint = (error as { name?: string })?.name === "ConstraintError";
      // A resend of an append already stored (its ids taken, its
      // expectations no longer holding, its command recorded) is answered
      // with the first result.
      if (
        givenIds > 0 &&
        (constraint || error instanceof ConcurrencyError ||
          error instanceof CommandAlreadyRecordedError ||
          error instanceof AppendConditionError)
      ) {
        const read = db.transaction("events").objectStore("events");
        const retried = await retriedIn<E>(read, appends);
        if (retried) return retried;
      }
      if (constraint) {
        // Either a stream already has the versions being written (a
        // pipelined append behind the real head: a conflict) or an event id
        // is taken.
        for (const append of appends) {
          checkExpectedVersion(
            append.streamId,
            append.expectedVersion ?? "any",
            await this.streamVersion(append.streamId),
          );
        }
        throw new DuplicateEventIdError(String(ids.flat()[0]), { cause: error });
      }
      throw translateStorageError(this.#database.name, error);
    }
    // Committed: from here on nothing may turn the append into a failure.
    for (const result of results) {
      this.#seen.saw(result.streamId, result.nextExpectedVersion, connection);
    }
    const last = results.flatMap((r) => r.events).at(-1)?.position;
    if (last !== undefined) this.#wakeUps.appended(last);
    return results;
  }

  /** Reads one stream's events. */
  async readStream<E extends Event = Event>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    assertValidStreamId(streamId);
    assertValidReadStreamOptions(options);
    return await readStreamRows<E>(this.#database, streamId, options, this.#seen);
  }

  /** Reads events by id, in the order given; unknown ids are left out. */
  async readEvents<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    return await readEventsByIds<E>(this.#database, ids);
  }

  /** Reads all events in global order after a position. */
  async readAll<E extends Event = Event>(
    options: ReadAllOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    assertValidReadAllOptions(options);
    return await readAllRows<E>(this.#database, options);
  }

  /**
   * Reads the events matching `query` in global order, and the head to
   * condition an append on, in one transaction. When every item of the
   * query names a tag, it reads the rows of each item's first tag by the tag
   * index (schema 6); otherwise the log after `after` (all of it by default):
   * there is no index by type.
   */
  async readQuery<E extends Event = Event>(
    query: EventQuery,
    options: ReadQueryOptions = {},
  ): Promise<QueryResult<E>> {
    this.#assertOpen();
    assertValidEventQuery(query);
    assertValidReadQueryOptions(options);
    options.signal?.throwIfAborted();
    return await readQueryRows<E>(this.#database, query, options.after ?? 0);
  }

  /** The stream's current version (0 when it has no events). */
  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    assertValidStreamId(streamId);
    const db = await this.#database.open();
    const connection = this.#database.connections;
    const version = await lastVersion(
      db.transaction("events").store.index("stream"),
      streamId,
    );
    this.#seen.saw(streamId, version, connection);
    return version;
  }

  /**
   * Resolves once events after `position` may exist: at once when they do,
   * on the next append in this tab or (by BroadcastChannel) another tab of
   * the origin, or when `signal` aborts.
   */
  async waitForEvents(position: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return;
    await this.#wakeUps.wait(signal, async () => {
      const db = await this.#database.open();
      return await db.getKey("events", IDBKeyRange.lowerBound(position, true)) !==
        undefined;
    });
  }

  /** Closes the store and its database connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#wakeUps.close();
    await this.#database.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("IndexedDB event store");
  }
}
