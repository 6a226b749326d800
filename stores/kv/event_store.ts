/**
 * The Deno KV event store: the facade. The key layout and positions are in
 * `event_layout.ts`, the reads in `event_reads.ts`, the atomic operation of
 * an append in `append_operation.ts`, waking followers in `wake_ups.ts`.
 *
 * @module
 */

import type { Kv, KvEntry, KvKey } from "./kv.ts";
import {
  type AppendCondition,
  AppendConditionError,
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type Clock,
  type CommandRecord,
  ConcurrencyError,
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
  retriedAppend,
} from "../../src/store_kit/mod.ts";
import type { KvCommandLog } from "./command_log.ts";
import type { KvDocumentStore } from "./document_store.ts";
import { KV_LIMITS } from "./limits.ts";
import {
  appendedResults,
  appendOperation,
  type AppendTarget,
  inlineDocuments,
  KnownHeads,
  nextCommit,
  preflight,
} from "./append_operation.ts";
import { headVersion, type KeyOf, MAX_COMMIT_ATTEMPTS } from "./event_layout.ts";
import {
  buildTagIndex,
  getEvents,
  lastPosition,
  listAll,
  listByTags,
  listStream,
  storedForRetry,
} from "./event_reads.ts";
import { getManyStrong } from "./get_many.ts";
import { KvWakeUps } from "./wake_ups.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";

/**
 * Options of {@linkcode KvEventStore}.
 *
 * @example Two apps on one KV file
 * ```ts
 * import { KvEventStore, type KvEventStoreOptions } from "@verdict/verdict/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const billing: KvEventStoreOptions = { prefix: ["billing"] };
 * const shipping: KvEventStoreOptions = { prefix: ["shipping"] };
 * const stores = [new KvEventStore(kv, billing), new KvEventStore(kv, shipping)];
 * kv.close();
 * ```
 */
export interface KvEventStoreOptions {
  /** The key prefix of this store's data (default `["verdict"]`): apps can share one KV. */
  readonly prefix?: KvKey;
  /**
   * A command log on the same KV whose records commit in the same atomic
   * operation as this store's appends (for atomic audit).
   */
  readonly commandLog?: KvCommandLog;
  /**
   * Document projections kept inside every append's atomic operation (their
   * store must use the same `Deno.Kv`).
   */
  readonly inlineProjections?: InlineProjections<KvDocumentStore>;
  /** Close the KV handle when the store closes (default false). */
  readonly ownsKv?: boolean;
  /** The clock for event timestamps (default: the system clock). */
  readonly clock?: Clock;
  /**
   * How long an append keeps trying while another handle or process holds
   * the KV file's write lock, in milliseconds (default 5,000); past it the
   * append fails with a `StoreBusyError` and nothing is written.
   */
  readonly busyTimeoutMs?: number;
}

/**
 * An event store on Deno KV — a local file by default, so verdict needs no
 * server. Appends are one atomic operation each: the stream heads are read
 * with strong consistency and checked by versionstamp, and the events, the
 * new heads, the commit's global-log entry and (for an accepted audited
 * command) the command record and its indexes are set together. Limits of
 * KV are checked before writing: a too-large event or append fails with a
 * {@linkcode KvLimitError} and writes nothing.
 *
 * @example
 * ```ts
 * import { KvEventStore } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new KvEventStore(kv, { prefix: ["bank"], ownsKv: true });
 * await store.appendToStream("account-1", [{ type: "Opened", data: {} }], {
 *   expectedVersion: "no_stream",
 * });
 * assert.equal(await store.streamVersion("account-1"), 1);
 * await store.close();
 * ```
 */
export class KvEventStore implements EventStore, AppendNotifier {
  /** The log whose records commit atomically with appends, if one was given. */
  readonly commandLog?: KvCommandLog;
  readonly #kv: Kv;
  /** Whether the handle stamps keys with the commit's versionstamp (Deno's does). */
  readonly #stamped: boolean;
  /** The last numbered append of this store, which the next one waits for. */
  #turns: Promise<unknown> = Promise.resolve();
  readonly #wakeUps: KvWakeUps;
  readonly #prefix: KvKey;
  readonly #ownsKv: boolean;
  readonly #clock: Clock;
  readonly #busyTimeout: number;
  /** The tag index built for commits older than it, once (see `buildTagIndex`). */
  #tagIndex?: Promise<void>;
  readonly #heads = new KnownHeads();
  /** Where appends write: the handle, the keys, the log and documents. */
  readonly #target: AppendTarget;
  #closed = false;

  /** Creates a store over a KV handle. */
  constructor(kv: Kv, options: KvEventStoreOptions = {}) {
    this.#kv = kv;
    this.#stamped = typeof kv.commitVersionstamp === "function";
    this.#wakeUps = new KvWakeUps(kv, () => this.#key("n"), this.#stamped);
    this.#prefix = options.prefix ?? ["verdict"];
    this.#ownsKv = options.ownsKv ?? false;
    this.#clock = options.clock ?? systemClock;
    this.#busyTimeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.commandLog = options.commandLog;
    if (this.commandLog && !this.commandLog.sharesKv(kv)) {
      throw new TypeError(
        "The command log must live on the same Kv as the event store",
      );
    }
    if (options.inlineProjections) {
      assertValidProjections(options.inlineProjections.projections);
      if (!options.inlineProjections.store.sharesKv(kv)) {
        throw new TypeError(
          "The inline projections' store must live on the same Kv as the event store",
        );
      }
    }
    const { commandLog, inlineProjections: inline } = options;
    this.#target = { kv, key: this.#key, commandLog, inline };
  }

  readonly #key: KeyOf = (...parts) => [...this.#prefix, ...parts];

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

  /** Appends to several streams in one atomic operation. */
  appendToStreams<E extends Event = Event>(
    appends: readonly StreamAppend<E>[],
    options: Omit<AppendOptions, "expectedVersion"> = {},
  ): Promise<AppendResult<E>[]> {
    return this.#append(appends, options);
  }

  #append<E extends Event>(
    given: readonly StreamAppend<E>[],
    options: Pick<AppendOptions, "commandRecord" | "signal" | "condition">,
  ): Promise<AppendResult<E>[]> {
    if (this.#stamped) return this.#appendNow(given, options);
    // Appends that number their commits would only conflict on the number
    // (each checks the one before): in this process they take turns.
    const turn = this.#turns.then(() => this.#appendNow(given, options));
    this.#turns = turn.catch(() => {});
    return turn;
  }

  async #appendNow<E extends Event>(
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

    // Writer-chosen ids are checked to be free at commit when the checks
    // budget allows; beyond it they are still looked up before writing.
    const checks = preflight(
      this.#key,
      appends,
      options.commandRecord !== undefined,
      this.#stamped,
    );
    const checkIds = givenIds <= KV_LIMITS.checks - checks;
    const condition = options.condition;
    const guards = condition &&
      this.#guardsOf(condition, KV_LIMITS.checks - checks - (checkIds ? givenIds : 0));
    const timestamp = this.#clock.now();
    // Ids are fixed once, so every retry of the commit below writes the same events.
    const { ids, record } = planAppend(appends, options);
    const total = ids.reduce((n, streamIds) => n + streamIds.length, 0);

    let failedRecord: KvEntry<CommandRecord> | undefined;
    for (let attempt = 1;; attempt++) {
      const heads = attempt === 1 && this.#heads.known(this.#key, appends) ||
        await this.#heads.read(this.#kv, this.#key, appends);
      // Is this a resend of an append already stored? Looked up before the
      // commit only when the commit cannot check the ids itself; otherwise
      // only once something failed (an expectation, or the commit), so an
      // append with new ids — every decider-handler append — reads nothing more.
      if (givenIds > 0 && !checkIds) {
        const retried = await this.#retriedAppend<E>(appends);
        if (retried) return retried;
      }
      // The condition: the keys it watches are read first, then the log
      // after its position; the commit checks the keys did not move, so no
      // matching event can land between this look and the commit.
      const guarded = guards && await getManyStrong<unknown>(this.#kv, guards);
      if (condition) {
        const position = await this.#firstMatch(condition);
        if (position !== undefined) {
          // A resend of an append already stored matches its own condition.
          if (givenIds > 0) {
            const retried = await this.#retriedAppend<E>(appends);
            if (retried) return retried;
          }
          throw new AppendConditionError(position, condition.after);
        }
      }
      const actual = heads.map((head, s) => headVersion(head, appends[s].streamId));
      try {
        for (const [s, { streamId, expectedVersion }] of appends.entries()) {
          checkExpectedVersion(streamId, expectedVersion ?? "any", actual[s]);
        }
      } catch (error) {
        // A resend's expectations no longer hold: it is answered, not refused.
        if (givenIds > 0 && checkIds) {
          const retried = await this.#retriedAppend<E>(appends);
          if (retried) return retried;
        }
        throw error;
      }

      if (total === 0 && !record) {
        return appends.map((append, s) => ({
          streamId: append.streamId,
          nextExpectedVersion: actual[s],
          events: [],
        }));
      }
      const inline = this.#target.inline;
      const documents = inline &&
        await inlineDocuments(inline, appends, ids, actual, timestamp);
      // Without commit versionstamps, this append numbers its commit: one
      // after the last in the global log, on the condition that no other
      // append committed meanwhile (every append moves the commit token).
      const numbering = total > 0 && !this.#stamped
        ? await nextCommit(this.#kv, this.#key)
        : undefined;
      const { operation, commit } = appendOperation(
        this.#target,
        appends,
        ids,
        actual,
        heads,
        timestamp,
        record,
        checkIds,
        documents,
        failedRecord,
        numbering,
        guarded,
      );
      options.signal?.throwIfAborted();
      const committed = await whileBusy(
        "Deno KV event store",
        this.#busyTimeout,
        () => operation.commit(),
      );
      if (committed.ok) {
        this.#wakeUps.appended();
        appends.forEach((append, s) =>
          this.#heads.remember(append.streamId, {
            version: actual[s] + append.events.length,
            versionstamp: append.events.length > 0
              ? committed.versionstamp
              : heads[s].versionstamp,
          })
        );
        return appendedResults(
          appends,
          ids,
          actual,
          timestamp,
          commit ?? committed.versionstamp,
        );
      }
      // A check failed: a head moved (or a given id or the record id was
      // taken) between the read and the commit. Read again: an exact
      // expectation now fails with the real version; "any" simply retries.
      // A resend of an append already stored is answered with it.
      if (givenIds > 0 && checkIds) {
        const retried = await this.#retriedAppend<E>(appends);
        if (retried) return retried;
      }
      // A failed record of this command (a retry) is replaced; a final one refuses.
      if (record) failedRecord = await this.commandLog!.failedRecord(record.id);
      if (attempt >= MAX_COMMIT_ATTEMPTS) {
        const [first] = appends;
        throw new ConcurrencyError(
          first.streamId,
          first.expectedVersion ?? "any",
          await this.streamVersion(first.streamId),
        );
      }
    }
  }

  /**
   * The keys an append condition watches: for each query item with tags, the
   * key of its first tag (every event it matches carries that tag, and so
   * moves the key); for an item with types alone, the key of each of its
   * types; for a query of "all", the key every append moves. Past the checks
   * an atomic operation has left (KV allows 10 in all), that one key alone:
   * still exact, as the log is read, but then any append between the read
   * and the commit makes it retry.
   */
  #guardsOf(condition: AppendCondition, available: number): KvKey[] {
    if (available < 1) {
      throw new RangeError(
        `This append uses all ${KV_LIMITS.checks} checks a Deno KV atomic operation allows; its condition needs one more: append fewer streams or ids`,
      );
    }
    const query = condition.failIfEventsMatch;
    const everything = [this.#key("n")];
    if (query === "all") return everything;
    const keys = new Map<string, KvKey>();
    for (const item of query) {
      // A valid item names tags, or types, or both.
      const watched = item.tags
        ? [this.#key("qt", item.tags[0])]
        : item.types!.map((type) => this.#key("qy", type));
      for (const key of watched) keys.set(JSON.stringify(key), key);
    }
    return keys.size <= available ? [...keys.values()] : everything;
  }

  /** The position of the first event after the condition's that matches it. */
  async #firstMatch(condition: AppendCondition): Promise<number | undefined> {
    const newer = await listAll(this.#kv, this.#key, condition.after, Infinity);
    return newer.find((event) => eventMatchesQuery(event, condition.failIfEventsMatch))
      ?.position;
  }

  /**
   * Reads the events matching `query` in global order, and the head to
   * condition an append on. When every item names a tag, it reads the tag
   * index of each item's first tag (built once for older commits, by the
   * first such read); otherwise the log after `after` (all of it by
   * default): there is no index by type.
   */
  async readQuery<E extends Event = Event>(
    query: EventQuery,
    options: ReadQueryOptions = {},
  ): Promise<QueryResult<E>> {
    this.#assertOpen();
    assertValidEventQuery(query);
    assertValidReadQueryOptions(options);
    options.signal?.throwIfAborted();
    const after = options.after ?? 0;
    // When every item names a tag: the commits the tag index lists under
    // each item's first tag (every event the item matches carries it), up
    // to the head, read first: whatever commits later comes after it.
    if (query !== "all" && query.every((item) => item.tags)) {
      await this.#tagIndexReady();
      const head = Math.max(after, await lastPosition(this.#kv, this.#key));
      const firstTags = [...new Set(query.map((item) => item.tags![0]))];
      const found = await listByTags<E>(this.#kv, this.#key, firstTags, after, head);
      return { events: found.filter((event) => eventMatchesQuery(event, query)), head };
    }
    const newer = await listAll<E>(this.#kv, this.#key, after, Infinity);
    return {
      events: newer.filter((event) => eventMatchesQuery(event, query)),
      head: newer.length === 0 ? after : newer[newer.length - 1].position,
    };
  }

  /** Resolves once the tag index covers every commit (see `buildTagIndex`). */
  #tagIndexReady(): Promise<void> {
    this.#tagIndex ??= buildTagIndex(
      this.#kv,
      this.#key,
      (operation) =>
        whileBusy("Deno KV event store", this.#busyTimeout, async () => {
          const committed = await operation.commit();
          if (!committed.ok) throw new Error("a tag index write without checks failed");
        }),
    ).catch((error) => {
      this.#tagIndex = undefined;
      throw error;
    });
    return this.#tagIndex;
  }

  /** The first result again when every given id is stored as this append. */
  async #retriedAppend<E extends Event>(
    appends: readonly StreamAppend<E>[],
  ): Promise<AppendResult<E>[] | undefined> {
    const stored = await storedForRetry<E>(this.#kv, this.#key, appends);
    return stored && retriedAppend(appends, (id) => stored.get(id));
  }

  /** Reads one stream's events. */
  async readStream<E extends Event = Event>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    assertValidStreamId(streamId);
    assertValidReadStreamOptions(options);
    return await listStream<E>(this.#kv, this.#key, streamId, options);
  }

  /** Reads events by id, in the order given; unknown ids are left out. */
  async readEvents<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    return await getEvents<E>(this.#kv, this.#key, ids);
  }

  /** Reads all events in global order after a position. */
  async readAll<E extends Event = Event>(
    options: ReadAllOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    assertValidReadAllOptions(options);
    return await listAll<E>(
      this.#kv,
      this.#key,
      options.after ?? 0,
      options.limit ?? Infinity,
    );
  }

  /** The stream's current version (0 when it has no events). */
  async streamVersion(streamId: string): Promise<number> {
    this.#assertOpen();
    assertValidStreamId(streamId);
    const head = await this.#kv.get<{ version: number }>(this.#key("h", streamId), {
      consistency: "strong",
    });
    return headVersion(head, streamId);
  }

  /**
   * Resolves once events after `position` may exist: at once when they do,
   * else on the next append through this KV handle (a KV watch), or when
   * `signal` aborts. Writes from other processes are found by polling.
   */
  async waitForEvents(position: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return;
    await this.#wakeUps.wait(
      signal,
      async () => (await this.readAll({ after: position, limit: 1 })).length > 0,
    );
  }

  /** Closes the store (and the KV handle, when it owns it). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#wakeUps.close();
    if (this.#ownsKv) this.#kv.close();
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Deno KV event store");
  }
}
