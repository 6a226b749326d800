/**
 * The Deno KV event store.
 *
 * Key layout under the store's prefix `P`:
 *
 * | key                        | value                                        |
 * | -------------------------- | -------------------------------------------- |
 * | `[P, "h", streamId]`       | the stream head `{ version }`: the concurrency token |
 * | `[P, "s", streamId, v]`    | event `v` of the stream                      |
 * | `[P, "g", versionstamp]`   | one commit's events, in order: `[streamId, firstVersion, count][]`, and a copy of the events when they fit in 60 KB |
 * | `[P, "id", eventId]`       | `[streamId, version]`: event ids are unique  |
 * | `[P, "n"]`                 | touched by every append, for watchers        |
 *
 * An event's global position is its commit's versionstamp (as a number)
 * times 1,024 plus its index within the commit: strictly increasing in
 * commit order, which is the order a reader of `[P, "g"]` sees.
 *
 * A handle without `commitVersionstamp` (the `@deno/kv` npm package, in
 * Node) numbers its commits itself, in the same format: one after the last
 * key of `[P, "g"]`, on the condition that `[P, "n"]` (which every commit
 * moves) has not moved since it was read — so no commit can land between,
 * and the global order
 * stays gap-free when handles of both kinds share a file. Its events carry
 * the commit's key (`c`), as their versionstamp is not it.
 *
 * @module
 */

import type {
  AtomicOperation,
  Kv,
  KvEntry,
  KvEntryMaybe,
  KvKey,
  KvKeyPart,
} from "./kv.ts";
import {
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type Clock,
  type CommandRecord,
  ConcurrencyError,
  DuplicateEventIdError,
  type Event,
  EventDecodeError,
  type EventMetadata,
  type EventStore,
  type InlineProjections,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StoreClosedError,
  type StreamAppend,
  systemClock,
} from "../../mod.ts";
import {
  assertStreamSequence,
  assertValidProjections,
  assertValidReadAllOptions,
  assertValidReadStreamOptions,
  assertValidStreamId,
  checkAppends,
  checkExpectedVersion,
  type DocumentChange,
  planAppend,
  planDocuments,
  projectedEvents,
  retriedAppend,
  storedEventProblem,
} from "../../src/store_kit/mod.ts";
import type { KvCommandLog } from "./command_log.ts";
import type { KvDocumentStore } from "./document_store.ts";
import { getManyStrong } from "./get_many.ts";
import { KV_LIMITS, KvBudget } from "./limits.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";
import { Waiters } from "../../src/store_kit/waiters.ts";

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

interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly timestamp: number;
  /** Index of the event within its commit. */
  readonly i: number;
  /**
   * The commit's key in the global log, when it is not the commit's
   * versionstamp: written through a handle without `commitVersionstamp`
   * (the `@deno/kv` npm package), which numbers commits itself.
   */
  readonly c?: string;
}

/**
 * One commit's entry in the global log: which events it wrote, in order.
 * (Entries written by earlier versions may also carry a copy of the events,
 * or be a bare array of the refs; the copy is not read.)
 */
interface CommitEntry {
  readonly streams:
    readonly (readonly [streamId: string, firstVersion: number, count: number])[];
}

/**
 * The refs of a global-log entry, or what is wrong with it.
 */
function commitStreams(value: unknown): CommitEntry["streams"] | string {
  const streams = Array.isArray(value)
    ? value
    : typeof value === "object" && value !== null
    ? (value as { streams?: unknown }).streams
    : undefined;
  if (!Array.isArray(streams)) return "it names no streams";
  for (const ref of streams) {
    if (
      !Array.isArray(ref) || typeof ref[0] !== "string" ||
      !Number.isSafeInteger(ref[1]) || ref[1] < 1 ||
      !Number.isSafeInteger(ref[2]) || ref[2] < 1 || ref[2] > PER_COMMIT
    ) return `a stream ref is ${JSON.stringify(ref)?.slice(0, 80)}`;
  }
  return streams as CommitEntry["streams"];
}

/** Events per commit fit below this, so positions of one commit never collide. */
const PER_COMMIT = 1024;
/** Attempts of an append whose checks keep failing although its expectations hold. */
const MAX_COMMIT_ATTEMPTS = 100;

/**
 * The global position of the event at `index` in the commit `versionstamp`.
 * A local or self-hosted KV stamps commits with an 8-byte counter and two
 * zero bytes; the counter times 1,024 plus the index is a plain number for
 * the first 8.7 trillion commits.
 *
 * @throws {RangeError} for a versionstamp that is not of that kind.
 */
function positionOf(versionstamp: string, index: number): number {
  const commit = parseInt(versionstamp.slice(0, 16), 16);
  const position = commit * PER_COMMIT + index + 1;
  if (versionstamp.slice(16) !== "0000" || !Number.isSafeInteger(position)) {
    throw new RangeError(
      `Versionstamp ${versionstamp} cannot be turned into a numeric position: use a local or self-hosted KV`,
    );
  }
  return position;
}

/** The versionstamp key part of the commit holding `position`. */
function commitOf(position: number): string {
  return commitKey(Math.floor((position - 1) / PER_COMMIT));
}

/** A commit counter written as a versionstamp is: 16 hex digits, then "0000". */
function commitKey(counter: number): string {
  return counter.toString(16).padStart(16, "0") + "0000";
}

const COMMIT_KEY = /^[0-9a-f]{16}0000$/;

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
  /** Waiters woken by this store's appends (on a handle without KV watch). */
  readonly #appended = new Waiters();
  readonly #prefix: KvKey;
  readonly #ownsKv: boolean;
  readonly #clock: Clock;
  readonly #busyTimeout: number;
  readonly #inline?: InlineProjections<KvDocumentStore>;
  readonly #watchers = new Set<AbortController>();
  // The heads this store last read or wrote: an append whose exact expected
  // version matches skips the read and checks the known versionstamp, so a
  // command on current state is one round trip. A stale entry only makes
  // the check fail, and the append reads the head again.
  readonly #heads = new Map<string, { version: number; versionstamp: string }>();
  #closed = false;

  /** Creates a store over a KV handle. */
  constructor(kv: Kv, options: KvEventStoreOptions = {}) {
    this.#kv = kv;
    this.#stamped = typeof kv.commitVersionstamp === "function";
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
      this.#inline = options.inlineProjections;
    }
  }

  #key(...parts: KvKeyPart[]): KvKey {
    return [...this.#prefix, ...parts];
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

  /** Appends to several streams in one atomic operation. */
  appendToStreams<E extends Event = Event>(
    appends: readonly StreamAppend<E>[],
    options: Omit<AppendOptions, "expectedVersion"> = {},
  ): Promise<AppendResult<E>[]> {
    return this.#append(appends, options);
  }

  #append<E extends Event>(
    given: readonly StreamAppend<E>[],
    options: Pick<AppendOptions, "commandRecord" | "signal">,
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
    options: Pick<AppendOptions, "commandRecord" | "signal">,
  ): Promise<AppendResult<E>[]> {
    this.#assertOpen();
    const checked = checkAppends(given, {
      commandRecord: options.commandRecord,
      commandLog: this.commandLog,
    });
    const appends = checked.appends as readonly StreamAppend<E>[];
    const givenIds = checked.givenIds;

    // What can be known before reading: keys too long, too many streams.
    const preflight = new KvBudget();
    for (const append of appends) {
      preflight.check(
        this.#key("h", append.streamId),
        `the head of stream "${append.streamId}"`,
      );
      for (const event of append.events) {
        if (event.id !== undefined) {
          preflight.keyOnly(this.#key("id", event.id), `event ${event.id}`);
        }
      }
    }
    if (options.commandRecord) {
      preflight.check(this.#key("c", "r", ""), "the command record");
    }
    if (!this.#stamped) preflight.check(this.#key("n"), "the append notification");
    preflight.assertWithin("this append");
    // Writer-chosen ids are checked to be free at commit when the checks
    // budget allows; beyond it they are still looked up before writing.
    const checkIds = givenIds <= KV_LIMITS.checks - preflight.checks;

    const timestamp = this.#clock.now();
    // Ids are fixed once, so every retry of the commit below writes the same events.
    const { ids, record } = planAppend(appends, options);
    const total = ids.reduce((n, streamIds) => n + streamIds.length, 0);

    let failedRecord: KvEntry<CommandRecord> | undefined;
    for (let attempt = 1;; attempt++) {
      const heads = attempt === 1 && this.#knownHeads(appends) ||
        await this.#readHeads(appends);
      // Is this a resend of an append already stored? Looked up before the
      // commit only when the commit cannot check the ids itself; otherwise
      // only once something failed (an expectation, or the commit), so an
      // append with new ids — every decider-handler append — reads nothing more.
      if (givenIds > 0 && !checkIds) {
        const retried = await this.#retriedAppend<E>(appends);
        if (retried) return retried;
      }
      const actual = heads.map((head, s) => headVersion(head, appends[s].streamId));
      try {
        appends.forEach((append, i) =>
          checkExpectedVersion(
            append.streamId,
            append.expectedVersion ?? "any",
            actual[i],
          )
        );
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
      const documents = this.#inline &&
        await this.#inlineDocuments(this.#inline, appends, ids, actual, timestamp);
      // Without commit versionstamps, this append numbers its commit: one
      // after the last in the global log, on the condition that no other
      // append committed meanwhile (every append moves the commit token).
      const numbering = total > 0 && !this.#stamped
        ? await this.#nextCommit()
        : undefined;
      const { operation, commit } = this.#operation(
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
      );
      options.signal?.throwIfAborted();
      const committed = await whileBusy(
        "Deno KV event store",
        this.#busyTimeout,
        () => operation.commit(),
      );
      if (committed.ok) {
        this.#appended.wakeAll();
        appends.forEach((append, s) =>
          this.#rememberHead(append.streamId, {
            version: actual[s] + append.events.length,
            versionstamp: append.events.length > 0
              ? committed.versionstamp
              : heads[s].versionstamp,
          })
        );
        return appends.map((append, s) => ({
          streamId: append.streamId,
          nextExpectedVersion: actual[s] + append.events.length,
          events: append.events.map((event: NewEvent<E>, e: number) => ({
            ...event,
            id: ids[s][e],
            metadata: event.metadata ?? {},
            streamId: append.streamId,
            version: actual[s] + e + 1,
            position: positionOf(
              commit ?? committed.versionstamp,
              indexIn(appends, s, e),
            ),
            timestamp: new Date(timestamp),
          } as RecordedEvent<E>)),
        }));
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
   * The key of the next commit, for a handle without commit versionstamps:
   * one after the last key of the global log (whichever handle wrote it),
   * and the versionstamp of the append notification (which every commit
   * moves) that the commit must still find.
   */
  async #nextCommit(): Promise<{ key: string; token: string | null }> {
    const token = await this.#kv.get(this.#key("n"), { consistency: "strong" });
    let last = 0;
    for await (
      const entry of this.#kv.list({ prefix: this.#key("g") }, {
        reverse: true,
        limit: 1,
        consistency: "strong",
      })
    ) {
      const key = entry.key.at(-1);
      if (typeof key === "string" && COMMIT_KEY.test(key)) {
        last = parseInt(key.slice(0, 16), 16);
      }
    }
    return { key: commitKey(last + 1), token: token.versionstamp };
  }

  #operation<E extends Event>(
    appends: readonly StreamAppend<E>[],
    ids: readonly (readonly string[])[],
    actual: readonly number[],
    heads: readonly KvEntryMaybe<{ version: number }>[],
    timestamp: number,
    record: CommandRecord | undefined,
    checkIds: boolean,
    documents?: {
      changes: DocumentChange[];
      entries: KvEntryMaybe<unknown>[];
    },
    failedRecord?: KvEntry<CommandRecord>,
    numbering?: { key: string; token: string | null },
  ): { operation: AtomicOperation; commit?: string } {
    const kv = this.#kv;
    const operation = kv.atomic();
    // The commit's key in the global log, when this store numbers commits.
    const numbered = numbering?.key;
    const budget = new KvBudget();
    const commit: [string, number, number][] = [];
    let index = 0;
    appends.forEach((append, s) => {
      const headKey = this.#key("h", append.streamId);
      budget.check(headKey, `the head of stream "${append.streamId}"`);
      operation.check({ key: headKey, versionstamp: heads[s].versionstamp });
      if (append.events.length === 0) return;
      append.events.forEach((event, e) => {
        const version = actual[s] + e + 1;
        const key = this.#key("s", append.streamId, version);
        const stored: StoredEvent = {
          id: ids[s][e],
          type: event.type,
          data: event.data,
          metadata: event.metadata ?? {},
          timestamp,
          i: index++,
          ...(numbered ? { c: numbered } : {}),
        };
        const what = `event ${e} (${event.type}) of stream "${append.streamId}"`;
        budget.set(key, stored, what);
        operation.set(key, stored);
        const idKey = this.#key("id", ids[s][e]);
        budget.set(idKey, [append.streamId, version], what);
        operation.set(idKey, [append.streamId, version]);
        if (event.id !== undefined && checkIds) {
          // A writer-chosen id must still be free when the commit lands.
          budget.check(idKey, what);
          operation.check({ key: idKey, versionstamp: null });
        }
      });
      const head = { version: actual[s] + append.events.length };
      budget.set(headKey, head, `the head of stream "${append.streamId}"`);
      operation.set(headKey, head);
      commit.push([append.streamId, actual[s] + 1, append.events.length]);
    });
    if (commit.length > 0) {
      const globalKey = this.#key("g", "00000000000000000000");
      const entry: CommitEntry = { streams: commit };
      budget.set(globalKey, entry, "the global-log entry");
      // The notification key moves with every commit: an append that numbers
      // its commit checks it, so no other commit can land in between.
      const notification = this.#key("n");
      budget.set(notification, 0, "the append notification");
      operation.set(notification, timestamp);
      if (numbered) {
        budget.check(notification, "the append notification");
        operation.check({ key: notification, versionstamp: numbering!.token });
        operation.set(this.#key("g", numbered), entry);
      } else {
        operation.set(this.#key("g", kv.commitVersionstamp!()), entry);
      }
    }
    if (record) this.commandLog!.addToOperation(operation, budget, record, failedRecord);
    if (documents) {
      this.#inline!.store.addToOperation(
        operation,
        budget,
        documents.changes,
        documents.entries,
      );
    }
    budget.assertWithin("this append");
    return { operation, commit: numbered || undefined };
  }

  /**
   * Reads the documents the inline projections change and evolves them:
   * the operation checks each is still as read, so a concurrent change
   * makes the commit fail and the append try again.
   */
  async #inlineDocuments(
    inline: InlineProjections<KvDocumentStore>,
    appends: readonly StreamAppend[],
    ids: readonly (readonly string[])[],
    actual: readonly number[],
    timestamp: number,
  ): Promise<{ changes: DocumentChange[]; entries: KvEntryMaybe<unknown>[] }> {
    const events = projectedEvents(appends, ids, actual, timestamp);
    const plan = planDocuments(inline.projections, events);
    const entries = await inline.store.readDocuments(plan);
    return { changes: inline.store.evolveDocuments(plan, entries), entries };
  }

  /** The heads as last seen, when every append expects exactly that version. */
  #knownHeads(
    appends: readonly StreamAppend[],
  ): KvEntryMaybe<{ version: number }>[] | undefined {
    const heads: KvEntryMaybe<{ version: number }>[] = [];
    for (const append of appends) {
      const known = this.#heads.get(append.streamId);
      if (!known || append.expectedVersion !== known.version) return undefined;
      heads.push({
        key: this.#key("h", append.streamId),
        value: { version: known.version },
        versionstamp: known.versionstamp,
      });
    }
    return heads;
  }

  async #readHeads(
    appends: readonly StreamAppend[],
  ): Promise<KvEntryMaybe<{ version: number }>[]> {
    const heads = await this.#getMany<{ version: number }>(
      appends.map((append) => this.#key("h", append.streamId)),
    );
    heads.forEach((head, i) => {
      if (head.versionstamp !== null) {
        this.#rememberHead(appends[i].streamId, {
          version: headVersion(head, appends[i].streamId),
          versionstamp: head.versionstamp,
        });
      }
    });
    return heads;
  }

  #rememberHead(
    streamId: string,
    head: { version: number; versionstamp: string | null },
  ): void {
    if (head.versionstamp === null) return;
    if (!this.#heads.has(streamId) && this.#heads.size >= 10_000) {
      this.#heads.delete(this.#heads.keys().next().value as string);
    }
    this.#heads.set(streamId, { version: head.version, versionstamp: head.versionstamp });
  }

  /** The first result again when every given id is stored as this append; see MemoryEventStore. */
  async #retriedAppend<E extends Event>(
    appends: readonly StreamAppend<E>[],
  ): Promise<AppendResult<E>[] | undefined> {
    const given = appends.flatMap((append) =>
      append.events.filter((event) => event.id !== undefined).map((event) => event.id!)
    );
    const found = await this.#getMany<[string, number]>(
      given.map((id) => this.#key("id", id)),
    );
    const known = found.findIndex((entry) => entry.value !== null);
    if (known < 0) return undefined;
    // Each stream's events from where its first event is stored.
    const stored = new Map<string, RecordedEvent<E>>();
    for (const append of appends) {
      const first = append.events[0]?.id;
      const at = first === undefined ? null : found[given.indexOf(first)]?.value;
      if (!at || at[0] !== append.streamId) continue;
      const events = await this.readStream<E>(append.streamId, {
        from: at[1],
        limit: append.events.length,
      });
      for (const event of events) stored.set(event.id, event);
    }
    // Stored, but not where the append would put them: not a retry.
    if (stored.size === 0) throw new DuplicateEventIdError(given[known]);
    return retriedAppend(appends, (id) => stored.get(id));
  }

  #getMany<T>(keys: readonly KvKey[]): Promise<KvEntryMaybe<T>[]> {
    return getManyStrong<T>(this.#kv, keys);
  }

  /** Reads one stream's events. */
  async readStream<E extends Event = Event>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    assertValidStreamId(streamId);
    assertValidReadStreamOptions(options);
    const limit = options.limit ?? Infinity;
    if (limit === 0) return [];
    const backward = options.direction === "backward";
    const selector = backward
      ? {
        start: this.#key("s", streamId, 1),
        end: this.#key("s", streamId, (options.from ?? Number.MAX_SAFE_INTEGER - 1) + 1),
      }
      : {
        start: this.#key("s", streamId, options.from ?? 1),
        end: this.#key("s", streamId, Number.MAX_SAFE_INTEGER),
      };
    const out: RecordedEvent<E>[] = [];
    for await (
      const entry of this.#kv.list<StoredEvent>(selector, {
        reverse: backward,
        limit: Number.isFinite(limit) ? limit : undefined,
        consistency: "strong",
      })
    ) {
      out.push(this.#decode<E>(entry, streamId, entry.key.at(-1) as number));
    }
    assertStreamSequence(
      out,
      streamId,
      options.from ?? 1,
      backward ? "backward" : "forward",
    );
    return out;
  }

  #decode<E extends Event>(
    entry: KvEntry<StoredEvent>,
    streamId: string,
    version: number,
  ): RecordedEvent<E> {
    const stored = entry.value;
    const whole = typeof stored === "object" && stored !== null;
    const index = whole && Number.isSafeInteger(stored.i) && stored.i >= 0 ? stored.i : 0;
    const numbered = whole && stored.c !== undefined;
    const commit = numbered && COMMIT_KEY.test(String(stored.c))
      ? stored.c!
      : entry.versionstamp;
    const position = positionOf(commit, index);
    const problem = !whole
      ? `it is ${stored === null ? "null" : typeof stored}, not an object`
      : index !== stored.i
      ? "its index within the commit is damaged"
      : numbered && commit !== stored.c
      ? "its commit key is damaged"
      : storedEventProblem({
        id: stored.id,
        type: stored.type,
        data: stored.data,
        // Metadata is always written; an event without any reads as empty.
        metadata: stored.metadata === undefined ? {} : stored.metadata,
        version,
      });
    if (problem !== undefined) {
      throw new EventDecodeError(position, stored, problem, { streamId, version });
    }
    return {
      id: stored.id,
      type: stored.type,
      data: stored.data,
      metadata: stored.metadata ?? {},
      streamId,
      version,
      position,
      timestamp: new Date(stored.timestamp),
    } as RecordedEvent<E>;
  }

  /** Reads events by id, in the order given; unknown ids are left out. */
  async readEvents<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    const refs = await this.#getMany<[string, number]>(
      ids.map((id) => this.#key("id", id)),
    );
    const known = refs.filter((ref) => Array.isArray(ref.value));
    const entries = await this.#getMany<StoredEvent>(
      known.map((ref) => this.#key("s", ref.value![0], ref.value![1])),
    );
    const out: RecordedEvent<E>[] = [];
    entries.forEach((entry, i) => {
      if (entry.versionstamp === null) return;
      const [streamId, version] = known[i].value!;
      out.push(this.#decode<E>(entry as KvEntry<StoredEvent>, streamId, version));
    });
    return out;
  }

  /** Reads all events in global order after a position. */
  async readAll<E extends Event = Event>(
    options: ReadAllOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    this.#assertOpen();
    assertValidReadAllOptions(options);
    const after = options.after ?? 0;
    const limit = options.limit ?? Infinity;
    const out: RecordedEvent<E>[] = [];
    if (limit === 0) return out;
    const start = after === 0 ? this.#key("g", "") : this.#key("g", commitOf(after));
    const commits = this.#kv.list<CommitEntry>(
      { start, end: this.#key("g", "\uffff") },
      { consistency: "strong" },
    );
    for await (const commit of commits) {
      const versionstamp = commit.key.at(-1) as string;
      // A commit wholly at or before `after` (the first one listed can be).
      if (positionOf(versionstamp, PER_COMMIT - 1) <= after) continue;
      const streams = commitStreams(commit.value);
      if (typeof streams === "string") {
        // Nothing of a damaged entry can be trusted, not even its length:
        // the error names the commit's last possible position, so a
        // subscription that skips it skips the whole commit.
        throw new EventDecodeError(
          positionOf(versionstamp, PER_COMMIT - 1),
          commit.value,
          `the global-log entry of commit ${versionstamp} is damaged: ${streams}`,
        );
      }
      const refs: { streamId: string; version: number; index: number }[] = [];
      let index = 0;
      for (const [streamId, first, count] of streams) {
        for (let v = first; v < first + count; v++) {
          refs.push({ streamId, version: v, index: index++ });
        }
      }
      const wanted = refs.filter((ref) => positionOf(versionstamp, ref.index) > after)
        .slice(0, limit - out.length);
      // One copy of each event, the one readStream reads: an entry's copy
      // of its events (written by earlier versions) is not read.
      const entries = await this.#getMany<StoredEvent>(
        wanted.map((ref) => this.#key("s", ref.streamId, ref.version)),
      );
      entries.forEach((entry, i) => {
        const ref = wanted[i];
        const where = { streamId: ref.streamId, version: ref.version };
        const position = positionOf(versionstamp, ref.index);
        if (entry.versionstamp === null) {
          throw new EventDecodeError(position, undefined, "the event is missing", where);
        }
        // Written by the commit of this global-log entry, and not since: a
        // stamped event's versionstamp is the entry's key; a numbered one
        // names the key, and was written with the entry.
        const numbered = (entry.value as StoredEvent | null)?.c;
        if (
          numbered === undefined
            ? entry.versionstamp !== versionstamp
            : numbered !== versionstamp || entry.versionstamp !== commit.versionstamp
        ) {
          throw new EventDecodeError(
            position,
            entry.value,
            `the event was written again after its commit (versionstamp ${entry.versionstamp})`,
            where,
          );
        }
        out.push(
          this.#decode<E>(entry as KvEntry<StoredEvent>, ref.streamId, ref.version),
        );
      });
      if (out.length >= limit) break;
    }
    return out;
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
    // The @deno/kv package's watch misses keys that do not exist yet and
    // fails when cancelled: on such a handle, this store's own appends wake
    // waiters, and followers poll for the rest.
    if (!this.#stamped) {
      return await this.#appended.wait(
        signal,
        async () => (await this.readAll({ after: position, limit: 1 })).length > 0,
      );
    }
    const watcher = new AbortController();
    this.#watchers.add(watcher);
    const stop = () => watcher.abort();
    signal.addEventListener("abort", stop, { once: true });
    const stream = this.#kv.watch([this.#key("n")]);
    const reader = stream.getReader();
    watcher.signal.addEventListener("abort", () => reader.cancel().catch(() => {}), {
      once: true,
    });
    try {
      await reader.read(); // the current value
      if ((await this.readAll({ after: position, limit: 1 })).length > 0) return;
      await reader.read(); // the next change
    } catch {
      // Cancelled: the caller stopped waiting or the store closed.
    } finally {
      signal.removeEventListener("abort", stop);
      this.#watchers.delete(watcher);
      await reader.cancel().catch(() => {});
    }
  }

  /** Closes the store (and the KV handle, when it owns it). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#appended.wakeAll();
    for (const watcher of this.#watchers) watcher.abort();
    if (this.#ownsKv) this.#kv.close();
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Deno KV event store");
  }
}

function indexIn(
  appends: readonly StreamAppend[],
  stream: number,
  event: number,
): number {
  let index = event;
  for (let s = 0; s < stream; s++) index += appends[s].events.length;
  return index;
}

/**
 * The version a stream head holds: 0 for no head. A head that is there but
 * holds no valid version is damage, reported instead of read as 0 — an
 * append on it would overwrite the stream's first events.
 */
function headVersion(head: KvEntryMaybe<unknown>, streamId: string): number {
  if (head.versionstamp === null) return 0;
  const version = (head.value as { version?: unknown } | null)?.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new EventDecodeError(
      0,
      head.value,
      `the stream's head is damaged: ${JSON.stringify(head.value)?.slice(0, 80)}`,
      { streamId },
    );
  }
  return version;
}
