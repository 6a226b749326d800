/**
 * The in-memory event store: the reference implementation of the
 * `EventStore` port.
 *
 * @module
 */

import {
  AppendConditionError,
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type Clock,
  type Event,
  eventMatchesQuery,
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
  uuidv7,
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
  projectedEvents,
  retriedAppend,
  Waiters,
} from "../../src/store_kit/mod.ts";
import { cloneData } from "./clone.ts";
import { copiesOf, EventList, StoredEvent } from "./stored_events.ts";
import { settle } from "./settle.ts";
import type { MemoryCommandLog } from "./command_log.ts";
import type { MemoryDocumentStore } from "./document_store.ts";

/**
 * Options of {@linkcode MemoryEventStore}.
 *
 * @example
 * ```ts
 * import { MemoryCommandLog, MemoryEventStore, type MemoryEventStoreOptions } from "@verdict/verdict/memory";
 * import { ManualClock } from "@verdict/verdict/testing";
 *
 * const options: MemoryEventStoreOptions = {
 *   commandLog: new MemoryCommandLog(),
 *   clock: new ManualClock(),
 * };
 * const store = new MemoryEventStore(options);
 * ```
 */
export interface MemoryEventStoreOptions {
  /**
   * A command log whose records commit atomically with this store's appends
   * (the audit middleware's log, for atomic audit).
   */
  readonly commandLog?: MemoryCommandLog;
  /** The clock for event timestamps (default: the system clock). */
  readonly clock?: Clock;
  /**
   * Document projections kept inside every append: their documents change
   * in the same step as the events, or not at all.
   */
  readonly inlineProjections?: InlineProjections<MemoryDocumentStore>;
}

/**
 * An event store in this process's memory. It keeps every promise of the
 * `EventStore` contract — every expected-version mode, atomic multi-stream
 * appends, idempotent retries, a gap-free global order. It copies what it
 * is given, and hands events out frozen, data and metadata all the way down
 * (changing one throws a `TypeError`): reads cost no copy per event, and no
 * caller can change what is stored. Use it in tests, in development, and as
 * a browser fallback.
 *
 * @example
 * ```ts
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("account-1", [
 *   { type: "AccountOpened", data: { owner: "Ada" } },
 * ], { expectedVersion: "no_stream" });
 * const [event] = await store.readStream("account-1");
 * assert.equal(event.version, 1);
 * assert.equal(event.position, 1);
 * assert.ok(Object.isFrozen(event.data));
 * const changed = { ...event, data: { owner: "Grace" } }; // a changed copy
 * assert.equal(changed.timestamp.getTime(), event.timestamp.getTime());
 * ```
 */
export class MemoryEventStore implements EventStore, AppendNotifier {
  /** The log that commits atomically with appends, if one was given. */
  readonly commandLog?: MemoryCommandLog;
  readonly #clock: Clock;
  readonly #inline?: InlineProjections<MemoryDocumentStore>;
  readonly #all = new EventList();
  /**
   * The events of each type, and of each tag, in global order: what queries
   * read. Built by the first query, then kept up by appends, so a store that
   * is never queried pays nothing for it.
   */
  #queryIndex?: { byType: Map<string, StoredEvent[]>; byTag: Map<string, StoredEvent[]> };
  readonly #streams = new Map<string, EventList>();
  // Ids above every id stored so far (the store's own UUIDv7s, and the ids
  // the decider handler derives from UUIDv7 command ids) stay in an array in
  // id order and are found by binary search: hashing a fresh id costs more
  // than the rest of an append. Other ids are indexed in a map.
  readonly #unordered = new Map<string, StoredEvent>();
  readonly #ordered: StoredEvent[] = [];
  readonly #waiters = new Waiters();
  #closed = false;

  /** Creates an empty store. */
  constructor(options: MemoryEventStoreOptions = {}) {
    this.commandLog = options.commandLog;
    this.#clock = options.clock ?? systemClock;
    if (options.inlineProjections) {
      assertValidProjections(options.inlineProjections.projections);
      this.#inline = options.inlineProjections;
    }
  }

  /** Appends events to one stream, checking its expected version. */
  appendToStream<E extends Event = Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions = {},
  ): Promise<AppendResult<E>> {
    // settle() inlined: the closure it takes is a cost on the hot path.
    try {
      const results = this.#append([{
        streamId,
        events,
        expectedVersion: options.expectedVersion,
      }], options);
      return Promise.resolve(results[0] as AppendResult<E>);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Appends to several streams atomically. */
  appendToStreams<E extends Event = Event>(
    appends: readonly StreamAppend<E>[],
    options: Omit<AppendOptions, "expectedVersion"> = {},
  ): Promise<AppendResult<E>[]> {
    return settle(() => this.#append(appends, options) as AppendResult<E>[]);
  }

  // Synchronous from the first check to the last write: no other call can
  // interleave, which is what makes every append atomic.
  /** The stored event of an id, as handed out. */
  readonly #storedById = (id: string): RecordedEvent | undefined =>
    this.#findById(id)?.recorded;

  #findById(id: string): StoredEvent | undefined {
    if (this.#unordered.size > 0) {
      const found = this.#unordered.get(id);
      if (found) return found;
    }
    const ordered = this.#ordered;
    const last = ordered.length - 1;
    // A new id above them all (the usual case): no search.
    if (last < 0 || ordered[last].id < id) return undefined;
    let low = 0;
    let high = last;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ordered[mid].id < id) low = mid + 1;
      else high = mid;
    }
    return ordered[low].id === id ? ordered[low] : undefined;
  }

  #index(stored: StoredEvent): void {
    const ordered = this.#ordered;
    if (ordered.length === 0 || ordered[ordered.length - 1].id < stored.id) {
      ordered.push(stored);
    } else this.#unordered.set(stored.id, stored);
  }

  #append(
    given: readonly StreamAppend[],
    options: Pick<AppendOptions, "commandRecord" | "signal" | "condition">,
  ): AppendResult[] {
    this.#assertOpen();
    options.signal?.throwIfAborted();
    // Ids, types and expected versions first; data and metadata are checked
    // below as they are copied, still before any write.
    const checked = checkAppends(given, {
      data: false,
      commandRecord: options.commandRecord,
      commandLog: this.commandLog,
      condition: options.condition,
      queries: true,
    });
    const appends = checked.appends;
    const hasGivenIds = checked.givenIds > 0;
    // Checked as they are copied: an append that cannot be stored is refused
    // first, as every store refuses it, before any read or write.
    const copies = copiesOf(appends);

    if (hasGivenIds) {
      const retried = retriedAppend(appends, this.#storedById);
      if (retried) return retried;
    }

    if (options.condition) {
      const { failIfEventsMatch, after } = options.condition;
      const all = this.#all.stored;
      // Positions are 1, 2, 3…: the events after `after` start at index `after`.
      for (let i = after; i < all.length; i++) {
        if (eventMatchesQuery(all[i], failIfEventsMatch)) {
          throw new AppendConditionError(all[i].position, after);
        }
      }
    }
    for (const append of appends) {
      const actual = this.#streams.get(append.streamId)?.length ?? 0;
      checkExpectedVersion(append.streamId, append.expectedVersion ?? "any", actual);
    }
    const timestamp = this.#clock.now();
    // On the system clock, the ids carry the timestamp just read: one clock
    // read per append instead of one more per event.
    const stamp = this.#clock === systemClock ? timestamp : undefined;
    // Ids are fixed before anything is written when a record or an inline
    // projection needs to see them.
    let ids: string[][] | undefined;
    if (options.commandRecord || this.#inline) {
      ids = appends.map((append) =>
        append.events.map((event) => event.id ?? uuidv7(stamp))
      );
    }
    // Inline projections run before any write, so a throwing `evolve`
    // leaves everything as it was; their documents are written last.
    const commitDocuments = this.#inline && this.#inline.store.prepare(
      this.#inline.projections,
      projectedEvents(
        appends,
        ids!,
        appends.map((append) => this.#streams.get(append.streamId)?.length ?? 0),
        timestamp,
      ),
    );
    // The record goes in before any event: if the log refuses it, nothing
    // has been written; once it is in, the writes below cannot fail.
    if (options.commandRecord) {
      const streamIds = appends.filter((a) => a.events.length > 0).map((a) => a.streamId);
      this.commandLog!.recordInTransaction(
        options.commandRecord({
          // Not .flat() alone: V8's generic builtin topped an audited
          // command's profile.
          eventIds: ids!.length === 1 ? ids![0].slice() : ids!.flat(),
          streamIds,
        }),
      );
    }

    let k = 0;
    // Sized up front: an array grown by push starts with room for 17.
    const results: AppendResult[] = new Array(appends.length);
    for (let a = 0; a < appends.length; a++) {
      const append = appends[a];
      let stream = this.#streams.get(append.streamId);
      if (!stream) {
        if (append.events.length === 0) {
          results[a] = { streamId: append.streamId, nextExpectedVersion: 0, events: [] };
          continue;
        }
        stream = new EventList();
        this.#streams.set(append.streamId, stream);
      }
      const recorded: RecordedEvent[] = new Array(append.events.length);
      for (let e = 0; e < append.events.length; e++) {
        const event = append.events[e];
        const stored = new StoredEvent(
          ids ? ids[a][e] : event.id ?? uuidv7(stamp),
          event.type,
          copies.data[k],
          copies.metadata[k++],
          append.streamId,
          stream.length + 1,
          this.#all.length + 1,
          timestamp,
          // Checked by checkAppends: a list of valid tags.
          event.tags === undefined ? undefined : [...event.tags],
        );
        stream.push(stored);
        this.#all.push(stored);
        this.#index(stored);
        if (this.#queryIndex) indexForQueries(this.#queryIndex, stored);
        // The caller gets its own input back, not the stored copy: one copy
        // per event keeps both sides apart.
        recorded[e] = {
          id: stored.id,
          type: stored.type,
          // As stored (properties holding undefined left out), not aliased.
          data: copies.dropped ? cloneData(stored.data) : event.data,
          metadata: copies.dropped ? cloneData(stored.metadata) : event.metadata ?? {},
          streamId: stored.streamId,
          version: stored.version,
          position: stored.position,
          timestamp: new Date(timestamp),
        };
        if (event.tags !== undefined) {
          (recorded[e] as { tags?: readonly string[] }).tags = event.tags;
        }
      }
      results[a] = {
        streamId: append.streamId,
        nextExpectedVersion: stream.length,
        events: recorded,
      };
    }
    commitDocuments?.();
    if (this.#waiters.size > 0) {
      this.#waiters.wakeAll();
    }
    return results;
  }

  /** Resolves once events after `position` exist, or when `signal` aborts. */
  waitForEvents(position: number, signal: AbortSignal): Promise<void> {
    if (this.#all.length > position || signal.aborted || this.#closed) {
      return Promise.resolve();
    }
    return this.#waiters.wait(signal, () => Promise.resolve(this.#all.length > position));
  }

  /**
   * Reads one stream's events: the stored ones themselves, frozen, with no
   * copy per event.
   */
  readStream<E extends Event = Event>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    return settle(() => {
      this.#assertOpen();
      assertValidStreamId(streamId);
      assertValidReadStreamOptions(options);
      const stream = this.#streams.get(streamId);
      if (!stream) return [];
      const limit = options.limit ?? Infinity;
      if (options.direction === "backward") {
        const out: RecordedEvent[] = [];
        const start = Math.min(options.from ?? stream.length, stream.length);
        for (let v = start; v >= 1 && out.length < limit; v--) {
          out.push(stream.at(v - 1));
        }
        return out as RecordedEvent<E>[];
      }
      return stream.read((options.from ?? 1) - 1, limit) as RecordedEvent<E>[];
    });
  }

  /** Reads events by id, in the order given; unknown ids are left out. */
  readEvents<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]> {
    return settle(() => {
      this.#assertOpen();
      const out: RecordedEvent[] = [];
      for (const id of ids) {
        const stored = typeof id === "string" ? this.#findById(id) : undefined;
        if (stored) out.push(stored.recorded);
      }
      return out as RecordedEvent<E>[];
    });
  }

  /** Reads all events in global order after a position. */
  readAll<E extends Event = Event>(
    options: ReadAllOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    return settle(() => {
      this.#assertOpen();
      assertValidReadAllOptions(options);
      return this.#all.read(
        options.after ?? 0,
        options.limit ?? Infinity,
      ) as RecordedEvent<E>[];
    });
  }

  /**
   * Reads the events matching `query` in global order, and the head to
   * condition an append on: every event after it is newer than the read.
   */
  readQuery<E extends Event = Event>(
    query: EventQuery,
    options: ReadQueryOptions = {},
  ): Promise<QueryResult<E>> {
    return settle(() => {
      this.#assertOpen();
      assertValidEventQuery(query);
      assertValidReadQueryOptions(options);
      options.signal?.throwIfAborted();
      const head = this.#all.length;
      const after = options.after ?? 0;
      if (query === "all") {
        return {
          events: this.#all.read(after, head - after) as RecordedEvent<E>[],
          head,
        };
      }
      // Each item's candidates come from its shortest index list (the
      // events of its rarest tag, else of its types), read from the end
      // back to `after`: a catch-up read costs what is new.
      if (!this.#queryIndex) {
        this.#queryIndex = { byType: new Map(), byTag: new Map() };
        for (const stored of this.#all.stored) indexForQueries(this.#queryIndex, stored);
      }
      const { byType, byTag } = this.#queryIndex;
      const found: StoredEvent[] = [];
      for (const item of query) {
        const lists: (readonly StoredEvent[])[] = [];
        if (item.tags) {
          let rarest: readonly StoredEvent[] | undefined;
          for (const tag of item.tags) {
            const list = byTag.get(tag) ?? EMPTY;
            if (rarest === undefined || list.length < rarest.length) rarest = list;
          }
          lists.push(rarest!);
        } else {
          for (const type of item.types!) lists.push(byType.get(type) ?? EMPTY);
        }
        for (const list of lists) {
          let from = list.length;
          while (from > 0 && list[from - 1].position > after) from--;
          for (let i = from; i < list.length; i++) {
            if (eventMatchesQuery(list[i], [item])) found.push(list[i]);
          }
        }
      }
      // Items may match the same event, and come in any order.
      found.sort((a, b) => a.position - b.position);
      const events: RecordedEvent[] = [];
      for (let i = 0; i < found.length; i++) {
        if (i === 0 || found[i] !== found[i - 1]) events.push(found[i].recorded);
      }
      return { events: events as RecordedEvent<E>[], head };
    });
  }

  /** The stream's current version (0 when it has no events). */
  streamVersion(streamId: string): Promise<number> {
    return settle(() => {
      this.#assertOpen();
      assertValidStreamId(streamId);
      return this.#streams.get(streamId)?.length ?? 0;
    });
  }

  /** Closes the store; its data is dropped and waiting followers wake. */
  close(): Promise<void> {
    this.#closed = true;
    this.#waiters.wakeAll();
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("memory event store");
  }
}

const EMPTY: readonly StoredEvent[] = [];

/** Adds a stored event to the lists of its type and of its tags. */
function indexForQueries(
  index: { byType: Map<string, StoredEvent[]>; byTag: Map<string, StoredEvent[]> },
  stored: StoredEvent,
): void {
  listOf(index.byType, stored.type).push(stored);
  if (stored.tags) {
    for (const tag of stored.tags) {
      listOf(index.byTag, tag).push(stored);
    }
  }
}

/** The list of `key` in `lists`, made on first use. */
function listOf(lists: Map<string, StoredEvent[]>, key: string): StoredEvent[] {
  let list = lists.get(key);
  if (!list) lists.set(key, list = []);
  return list;
}
