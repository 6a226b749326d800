/**
 * The handler that runs a decider against an event store: load, decide,
 * append with the expected version, retry conflicts.
 *
 * @module
 */

import { atomicLogFor, atomicRecordFor, markRecordedAtomically } from "./atomic_audit.ts";
import {
  type CommandPlan,
  decisionOf,
  planCommand,
  requireOf,
  targetOf,
} from "./_command_plan.ts";
import type { Command, CommandContext, CommandHandler } from "./command_bus.ts";
import type { HandlerOutcome, StreamVersion } from "./command_result.ts";
import { type Decider, fold } from "./decider.ts";
import type {
  DeciderDefinition,
  MultiStreamDefinition,
  SingleStreamDefinition,
  StateFold,
  StreamTarget,
} from "./decider_definition.ts";
import {
  AppendConditionError,
  CommandRejectedError,
  CommandTimeoutError,
  CommitUnknownError,
  ConcurrencyError,
  VerdictError,
} from "./errors.ts";
import { CommandAlreadyRecordedError, type CommandRecord } from "./command_log.ts";
import { eventIdOf } from "./uuid.ts";
import type { Event, EventMetadata, NewEvent, RecordedEvent } from "./event.ts";
import type { AppendResult, EventStore } from "./event_store.ts";
import type { EventQuery } from "./event_query.ts";
import { backoffDelay, resolveRetryPolicy, type RetryPolicy } from "./retry.ts";
import type { SnapshotPolicy } from "./snapshot_store.ts";
import { StateCache } from "./state_cache.ts";
import { CacheFollower, isAppendNotifier } from "./_cache_follower.ts";

/**
 * What every {@linkcode deciderHandler} is given besides its definition:
 * the store, and how conflicts, metadata and retries are handled.
 *
 * @example
 * ```ts
 * import type { DeciderHandlerSettings } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const settings: DeciderHandlerSettings = {
 *   store: new MemoryEventStore(),
 *   retry: { maxAttempts: 5 },
 *   onConflict: (error, attempt) => console.debug("conflict", error.streamId, attempt),
 * };
 * ```
 */
export interface DeciderHandlerSettings<C extends Command = Command> {
  /** Where the events live. */
  readonly store: EventStore;
  /** How conflicts are retried (default: 10 attempts, jittered backoff). */
  readonly retry?: RetryPolicy;
  /**
   * The metadata stamped on every event. Default: correlation id, the
   * command id as causation id, the principal as user id, the tenant id.
   */
  readonly metadata?: (context: CommandContext<C>) => EventMetadata;
  /**
   * Called each time an append meets a conflict, before the retry (or
   * before giving up): for metrics, logs or a UI that shows contention.
   */
  readonly onConflict?: (error: ConcurrencyError, attempt: number) => void;
  /**
   * Keeps the state cache coherent with other writers: other processes,
   * tabs, or handlers on the same store (default false). From its first
   * append on, the handler follows the store's global order, woken by the
   * store's own wake-ups (PostgreSQL NOTIFY, Deno KV watch, BroadcastChannel
   * between tabs), and applies what others commit to the states it caches,
   * so a command decides on current state instead of meeting a conflict.
   * Each process then reads every event once more, whoever wrote it. Needs
   * the cache, and a store that can wake followers (`waitForEvents`), as
   * every verdict store can.
   */
  readonly coherentCache?: boolean;
}

/**
 * Options of a {@linkcode deciderHandler} over one stream.
 *
 * @example A list that must exist before an item is added to it
 * ```ts
 * import { type Command, CommandBus, type Decider, deciderHandler } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type ListCommand =
 *   | Command<"CreateList", { listId: string }>
 *   | Command<"AddItem", { listId: string; item: string }>;
 * type ListEvent =
 *   | { type: "ListCreated"; data: { listId: string } }
 *   | { type: "ItemAdded"; data: { item: string } };
 * const list: Decider<ListCommand, string[], ListEvent> = {
 *   initialState: () => [],
 *   decide: (command) =>
 *     command.type === "CreateList"
 *       ? [{ type: "ListCreated", data: command.data }]
 *       : [{ type: "ItemAdded", data: { item: command.data.item } }],
 *   evolve: (items, event) => event.type === "ItemAdded" ? [...items, event.data.item] : items,
 * };
 *
 * const store = new MemoryEventStore();
 * const handler = deciderHandler({
 *   decider: list,
 *   store,
 *   streamId: (command) => ({
 *     streamId: `list-${command.data.listId}`,
 *     require: command.type === "CreateList" ? "absent" : "exists",
 *   }),
 * });
 * const bus = new CommandBus<ListCommand>()
 *   .register("CreateList", handler)
 *   .register("AddItem", handler);
 *
 * const result = await bus.dispatch({ type: "AddItem", data: { listId: "missing", item: "milk" } });
 * assert.equal(result.status === "rejected" && result.reason.code, "stream_not_found");
 * assert.equal(await store.streamVersion("list-missing"), 0);
 * ```
 */
export interface DeciderHandlerOptions<C extends Command, S, E extends Event>
  extends DeciderHandlerSettings<C>, SingleStreamDefinition<C, S, E> {
  /**
   * The state cache (default: a new one of 10,000 streams); `false` reads
   * every stream fully on every command.
   */
  readonly cache?: StateCache<S> | false;
  /**
   * Snapshots: a stream not in the cache is loaded from its latest snapshot
   * (of the same schema version) and the events after it; a snapshot is
   * taken each time a stream crosses a multiple of `every` events.
   */
  readonly snapshots?: SnapshotPolicy;
}

/**
 * Options of a {@linkcode deciderHandler} whose state is built from a query
 * instead of a stream (the Dynamic Consistency Boundary model): for each
 * command it reads the events matching `query(command)`, whatever their
 * streams, folds them, decides, and appends the decided events to
 * `streamId(command)` on the condition that no event matching the same query
 * appeared since the read. A failed condition is read again and retried
 * with backoff, up to the retry policy's attempts, as a stream conflict is
 * (`onConflict` reports stream conflicts only).
 * The store must keep tags (`readQuery`, as every verdict store has).
 *
 * @example A username may be claimed once
 * ```ts
 * import {
 *   type Command,
 *   CommandBus,
 *   CommandRejectedError,
 *   type Decider,
 *   deciderHandler,
 * } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type Claim = Command<"ClaimUsername", { userId: string; username: string }>;
 * type Claimed = { type: "UsernameClaimed"; data: { userId: string }; tags: string[] };
 * const unique: Decider<Claim, boolean, Claimed> = {
 *   initialState: () => false,
 *   evolve: () => true,
 *   decide: (command, taken) => {
 *     if (taken) throw new CommandRejectedError("username taken");
 *     const { userId, username } = command.data;
 *     return [{ type: "UsernameClaimed", data: { userId }, tags: [`username:${username}`] }];
 *   },
 * };
 * const bus = new CommandBus<Claim>().register("ClaimUsername", deciderHandler({
 *   decider: unique,
 *   store: new MemoryEventStore(),
 *   query: (command) => [{ types: ["UsernameClaimed"], tags: [`username:${command.data.username}`] }],
 *   streamId: (command) => `user-${command.data.userId}`,
 * }));
 *
 * const first = await bus.dispatch({ type: "ClaimUsername", data: { userId: "u1", username: "ada" } });
 * const second = await bus.dispatch({ type: "ClaimUsername", data: { userId: "u2", username: "ada" } });
 * assert.equal(first.status, "accepted");
 * assert.equal(second.status, "rejected");
 * ```
 */
export interface QueryHandlerOptions<C extends Command, S, E extends Event>
  extends DeciderHandlerSettings<C> {
  /** The domain logic: its state is folded from the query's events. */
  readonly decider: Decider<C, S, E>;
  /** The events the command's rule depends on. */
  query(command: C): EventQuery;
  /**
   * The stream the decided events are stored in. Its version is not
   * checked: the query's condition keeps the rule.
   */
  streamId(command: C): string;
}

/**
 * Options of a {@linkcode deciderHandler} over several named streams: a
 * {@linkcode MultiStreamDecider} and the stream behind each name. See
 * {@linkcode MultiStreamDecider} for a whole example.
 *
 * @example
 * ```ts
 * import type { Command, MultiStreamDecider, MultiStreamHandlerOptions } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * type Move = Command<"Move", { from: string; to: string }>;
 * type Moved = { type: "Left" | "Arrived"; data: null };
 * const box = { initialState: () => 0, evolve: (n: number) => n + 1 };
 * const move: MultiStreamDecider<Move, { from: number; to: number }, Moved> = {
 *   states: { from: box, to: box },
 *   decide: () => ({
 *     from: [{ type: "Left", data: null }],
 *     to: [{ type: "Arrived", data: null }],
 *   }),
 * };
 * const options: MultiStreamHandlerOptions<Move, { from: number; to: number }, Moved> = {
 *   decider: move,
 *   store: new MemoryEventStore(),
 *   streams: (command) => ({
 *     from: { streamId: `box-${command.data.from}`, require: "exists" },
 *     to: `box-${command.data.to}`,
 *   }),
 * };
 * ```
 */
export interface MultiStreamHandlerOptions<
  C extends Command,
  S extends object,
  E extends Event,
> extends DeciderHandlerSettings<C>, MultiStreamDefinition<C, S, E> {
  /**
   * The state cache of every name's stream: give the one a single-stream
   * handler over the same decider uses, and the two share what they read
   * (the names' states must be the same fold, as a transfer's two accounts
   * are). `false` reads every stream fully on every command. Default: a
   * cache of 10,000 streams for each of the decider's state folds.
   */
  readonly cache?: StateCache<S[keyof S]> | false;
}

interface LoadedStream<S> {
  readonly streamId: string;
  /** How the state was built, and so how to carry it forward. */
  readonly stateFold: StateFold<S, unknown>;
  readonly state: S;
  readonly version: number;
  /** False when the state came from the cache without being checked. */
  readonly checked: boolean;
}

/**
 * The metadata the decider handler stamps on events by default.
 *
 * @example
 * ```ts
 * import { defaultEventMetadata } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const metadata = defaultEventMetadata({
 *   commandId: "cmd-1",
 *   correlationId: "c-1",
 *   principal: "ada",
 * });
 * assert.deepEqual(metadata, {
 *   correlationId: "c-1",
 *   causationId: "cmd-1",
 *   userId: "ada",
 * });
 * ```
 */
export function defaultEventMetadata(
  context: Pick<
    CommandContext,
    "commandId" | "correlationId" | "principal" | "tenantId"
  >,
): EventMetadata {
  const metadata: Record<string, string> = {
    correlationId: context.correlationId ?? context.commandId,
    causationId: context.commandId,
  };
  if (context.principal !== undefined) metadata.userId = context.principal;
  if (context.tenantId !== undefined) metadata.tenantId = context.tenantId;
  return metadata;
}

/**
 * A command handler that decides on the events of a query, not a stream:
 * see {@linkcode QueryHandlerOptions}.
 *
 * @example See {@linkcode QueryHandlerOptions}.
 * ```ts
 * import { deciderHandler } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * deciderHandler({
 *   decider: { initialState: () => 0, evolve: (n: number) => n + 1, decide: () => [] },
 *   store: new MemoryEventStore(),
 *   query: () => [{ tags: ["course:c-1"] }],
 *   streamId: () => "course-c-1",
 * });
 * ```
 */
export function deciderHandler<C extends Command, S, E extends Event>(
  options: QueryHandlerOptions<C, S, E>,
): CommandHandler<C>;
/**
 * A command handler that runs a decider against an event store.
 *
 * For each command it loads the state of the command's stream(s) — from the
 * state cache when present, so a command on a long stream costs what one on a
 * short stream does — decides, and appends with the loaded version as the
 * expected version. A conflict means another writer got there first: the
 * handler catches up on the stream, decides again, and retries with jittered
 * backoff, up to the retry policy's attempts. A rejection or an empty
 * decision made on cached state is double-checked against the stream's real
 * version before it is reported, so a stale cache never refuses a command
 * that the current state would accept.
 *
 * When the audit middleware asks for it and the store's command log is the
 * audit's log, the accepted command's record commits in the same
 * transaction as its events.
 *
 * @example A counter on the memory store
 * ```ts
 * import { CommandBus, type Decider, deciderHandler } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type Increment = { type: "Increment"; data: { id: string } };
 * type Incremented = { type: "Incremented"; data: null };
 * const counter: Decider<Increment, number, Incremented> = {
 *   initialState: () => 0,
 *   decide: () => [{ type: "Incremented", data: null }],
 *   evolve: (n) => n + 1,
 * };
 *
 * const store = new MemoryEventStore();
 * const bus = new CommandBus<Increment>();
 * bus.register("Increment", deciderHandler({
 *   decider: counter,
 *   store,
 *   streamId: (command) => `counter-${command.data.id}`,
 * }));
 *
 * await bus.dispatch({ type: "Increment", data: { id: "a" } });
 * const result = await bus.dispatch({ type: "Increment", data: { id: "a" } });
 * assert.equal(result.status, "accepted");
 * assert.equal(await store.streamVersion("counter-a"), 2);
 * ```
 */
export function deciderHandler<C extends Command, S, E extends Event>(
  options: DeciderHandlerOptions<C, S, E>,
): CommandHandler<C>;
/**
 * A command handler that runs a {@linkcode MultiStreamDecider} against an
 * event store: every named stream is loaded, `decide` sees all their
 * states, and the events of every stream commit in one append that checks
 * each stream's version, the streams given no events included.
 *
 * @example See {@linkcode MultiStreamDecider}.
 * ```ts
 * import { CommandBus, deciderHandler, type MultiStreamDecider } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * type Link = { type: "Link"; data: { a: string; b: string } };
 * type Linked = { type: "Linked"; data: { to: string } };
 * const node = { initialState: (): string[] => [], evolve: (s: string[], e: Linked) => [...s, e.data.to] };
 * const link: MultiStreamDecider<Link, { a: string[]; b: string[] }, Linked> = {
 *   states: { a: node, b: node },
 *   decide: (command) => ({
 *     a: [{ type: "Linked", data: { to: command.data.b } }],
 *     b: [{ type: "Linked", data: { to: command.data.a } }],
 *   }),
 * };
 * new CommandBus<Link>().register("Link", deciderHandler({
 *   decider: link,
 *   store: new MemoryEventStore(),
 *   streams: (command) => ({ a: `node-${command.data.a}`, b: `node-${command.data.b}` }),
 * }));
 * ```
 */
export function deciderHandler<
  C extends Command,
  S extends object,
  E extends Event,
>(options: MultiStreamHandlerOptions<C, S, E>): CommandHandler<C>;
export function deciderHandler<C extends Command, E extends Event>(
  options:
    | DeciderHandlerOptions<C, unknown, E>
    | MultiStreamHandlerOptions<C, object, E>
    | QueryHandlerOptions<C, unknown, E>,
): CommandHandler<C> {
  type S = unknown;
  const { store } = options;
  const byQuery = "query" in options ? options : undefined;
  if (byQuery) {
    if ("streams" in options) {
      throw new TypeError("deciderHandler() takes query with streamId, not streams");
    }
    if (typeof store.readQuery !== "function") {
      throw new TypeError(
        "deciderHandler(): a query needs a store that keeps tags (one with readQuery, as every verdict store has)",
      );
    }
    if ((options as { coherentCache?: boolean }).coherentCache) {
      throw new TypeError(
        "deciderHandler(): coherentCache keeps stream states; a query handler reads its query on every command",
      );
    }
  }
  const single = !byQuery && "streamId" in options
    ? options as DeciderHandlerOptions<C, unknown, E>
    : undefined;
  const multi = "streams" in options ? options : undefined;
  if (single && multi) {
    throw new TypeError(
      "deciderHandler() takes streamId (one stream) or streams, not both",
    );
  }
  if (!single && !multi && !byQuery) {
    throw new TypeError(
      "deciderHandler() needs streamId (the command's stream) or streams (its named streams)",
    );
  }
  const decider = single?.decider as Decider<C, S, E> | undefined;
  const queryDecider = byQuery?.decider as Decider<C, S, E> | undefined;
  const given = (options as { cache?: StateCache<S> | false }).cache;
  /** Each state fold's cache, when none is given for all. */
  const caches = new Map<StateFold<S, unknown>, StateCache<S>>();
  const cacheOf = (stateFold: StateFold<S, unknown>): StateCache<S> | undefined => {
    if (given !== undefined) return given || undefined;
    let found = caches.get(stateFold);
    if (!found) caches.set(stateFold, found = new StateCache<S>());
    return found;
  };
  const caching = given !== false;
  const follower = options.coherentCache ? cacheFollower() : undefined;
  /**
   * Streams whose cached state the follower could not bring up to date (an
   * event it cannot apply), by the version the store has reached: such a
   * stream is read again, from its cached version on, before a decision.
   */
  const behind = new Map<string, number>();
  const policy = resolveRetryPolicy(options.retry);
  const snapshots = single?.snapshots;
  const snapshotSchema = snapshots?.schemaVersion ?? 1;
  if (snapshots && (!Number.isSafeInteger(snapshots.every) || snapshots.every < 1)) {
    throw new RangeError(
      `snapshots.every must be an integer >= 1, got ${snapshots.every}`,
    );
  }
  const metadataOf = options.metadata ??
    (defaultEventMetadata as (context: CommandContext<C>) => EventMetadata);

  /** The follower of `coherentCache`, once the options allow one. */
  function cacheFollower(): CacheFollower {
    if (!caching) {
      throw new TypeError(
        "deciderHandler(): coherentCache keeps the state cache up to date, so it needs one; it cannot go with cache: false",
      );
    }
    if (!isAppendNotifier(store)) {
      throw new TypeError(
        "deciderHandler(): coherentCache needs a store that can wake followers (one with waitForEvents, as every verdict store has)",
      );
    }
    return new CacheFollower(store, applyCommitted);
  }

  /**
   * Brings cached states up to date with committed events, whoever wrote
   * them: an event right after a cached version is applied with the fold
   * that cached the state; one the cache already holds is skipped; any
   * other (a gap, a fold that throws, a cache shared by several folds)
   * marks its stream to be read again before its next decision.
   */
  function applyCommitted(events: readonly RecordedEvent[]): void {
    for (const event of events) {
      let cached = false;
      if (given) {
        cached = advance(given, decider, event);
      } else {
        for (const [stateFold, cache] of caches) {
          cached = advance(cache, stateFold, event) || cached;
        }
      }
      // A stream no cache holds (any more) has nothing to read again.
      if (!cached && behind.size > 0) behind.delete(event.streamId);
    }
  }

  /** Applies `event` to `cache`; whether the cache holds its stream. */
  function advance(
    cache: StateCache<S>,
    stateFold: StateFold<S, unknown> | undefined,
    event: RecordedEvent,
  ): boolean {
    const cached = cache.get(event.streamId);
    if (!cached) return false;
    if (event.version <= cached.version) return true;
    if (stateFold && event.version === cached.version + 1) {
      try {
        cache.set(event.streamId, stateFold.evolve(cached.state, event), event.version);
        return true;
      } catch {
        // Read again below: the decision will meet the same event, and say so.
      }
    }
    behind.set(event.streamId, Math.max(behind.get(event.streamId) ?? 0, event.version));
    return true;
  }

  /** The cached state of a stream not marked for refresh, unchecked. */
  function cachedState(
    streamId: string,
    stateFold: StateFold<S, unknown>,
    mustRefresh: readonly string[],
  ): LoadedStream<S> | undefined {
    if (mustRefresh.length > 0 && mustRefresh.includes(streamId)) return undefined;
    const cached = cacheOf(stateFold)?.get(streamId);
    if (cached && behind.size > 0 && (behind.get(streamId) ?? 0) > cached.version) {
      return undefined;
    }
    return cached &&
      {
        streamId,
        stateFold,
        state: cached.state,
        version: cached.version,
        checked: false,
      };
  }

  /** Reads the stream: the events after the cached or snapshot state, or all of them. */
  async function load(
    streamId: string,
    stateFold: StateFold<S, unknown>,
    signal?: AbortSignal,
  ): Promise<LoadedStream<S>> {
    const foldCache = cacheOf(stateFold);
    const cached = foldCache?.get(streamId);
    // Start from the cached state, else from a snapshot of the same schema
    // version, else from the beginning; read only the events after it.
    let base: { state: S; version: number } | undefined = cached &&
      { state: cached.state, version: cached.version };
    if (!base && snapshots && stateFold === decider) {
      const snapshot = await snapshots.store.load<S>(streamId);
      if (snapshot && snapshot.schemaVersion === snapshotSchema) base = snapshot;
    }
    const from = base ? base.version + 1 : 1;
    const events = await store.readStream<E>(
      streamId,
      signal ? { from, signal } : { from },
    );
    const state = fold(stateFold, events, base ? base.state : undefined);
    const version = events.length > 0
      ? events[events.length - 1].version
      : base?.version ?? 0;
    foldCache?.set(streamId, state, version);
    if (behind.size > 0 && (behind.get(streamId) ?? 0) <= version) {
      behind.delete(streamId);
    }
    return { streamId, stateFold, state, version, checked: true };
  }

  /** Whether an unchecked stream's cached version is no longer current. */
  async function isStale(loaded: LoadedStream<S>): Promise<boolean> {
    return !loaded.checked &&
      await store.streamVersion(loaded.streamId) !== loaded.version;
  }

  /** The unchecked streams whose cached version is no longer current. */
  async function staleStreams(loaded: readonly LoadedStream<S>[]): Promise<string[]> {
    const stale: string[] = [];
    for (const stream of loaded) {
      if (await isStale(stream)) stale.push(stream.streamId);
    }
    return stale;
  }

  /**
   * The decided events as appended: with the command's metadata stamped on,
   * and ids derived from the command id and their index among the command's
   * events (`offset` for those of earlier streams), so every attempt of the
   * command appends the same ids and a store recognises a resent append.
   */
  function stamped(
    events: readonly E[],
    metadata: EventMetadata,
    commandId: string,
    offset: number,
  ): NewEvent<E>[] {
    // Built field by field, not by spreading the event: Node 20's V8 copies
    // a spread object on a slow path, and this runs for every event decided.
    return events.map((event, i): NewEvent<E> => {
      const stamp = {
        type: event.type,
        data: event.data,
        id: (event as NewEvent<E>).id ?? eventIdOf(commandId, offset + i),
        metadata: event.metadata ? { ...metadata, ...event.metadata } : metadata,
      } as { tags?: readonly string[] };
      if (event.tags !== undefined) stamp.tags = event.tags;
      return stamp as NewEvent<E>;
    });
  }

  /**
   * After an append failed with `error`: an error that may hide a commit
   * (not one of verdict's own refusals, or a `CommitUnknownError`) is
   * resolved by sending the very same append again after a backoff: the
   * store answers a resend of what it holds with the first result, and
   * commits it when it does not. Any other error is thrown on.
   */
  async function resolved<R>(
    error: unknown,
    append: () => Promise<R>,
    context: CommandContext<C>,
  ): Promise<R> {
    for (let attempt = 1;; attempt++) {
      const ambiguous = !(error instanceof VerdictError) ||
        error instanceof CommitUnknownError;
      if (!ambiguous || attempt >= policy.maxAttempts) throw error;
      throwIfPastDeadline(context);
      await context.clock.sleep(backoffDelay(policy, attempt), context.signal);
      try {
        return await append();
      } catch (again) {
        error = again;
      }
    }
  }

  /**
   * The outcome a command already recorded as final had: its events (read
   * back by id) when it was accepted, its refusal when it was rejected. A
   * command id stands for one command: a dispatch under an id that already
   * has a final record answers with that outcome, whatever the state now.
   */
  async function originalOutcome(
    record: CommandRecord,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome> {
    if (record.status === "rejected") {
      const refusal = new CommandRejectedError(record.error?.message ?? "rejected", {
        code: record.error?.code,
        details: record.error?.details,
      });
      throw refusal;
    }
    if (record.status !== "accepted") {
      throw new CommandAlreadyRecordedError(record.id, record);
    }
    // The record exists: the audit writes none.
    markRecordedAtomically(context);
    const events = await store.readEvents?.(record.eventIds) ?? [];
    const last = new Map<string, number>();
    for (const event of events) last.set(event.streamId, event.version);
    return {
      events,
      streams: record.streamIds.map((streamId) => ({
        streamId,
        version: last.get(streamId) ?? 0,
      })),
    };
  }

  /** This command's final record, when one exists (a retry of a finished command). */
  async function finalRecord(
    context: CommandContext<C>,
  ): Promise<CommandRecord | undefined> {
    const log = atomicLogFor(context, store);
    if (!log) return undefined;
    const record = await log.get(context.commandId);
    return record && record.status !== "failed" ? record : undefined;
  }

  /** The outcome of this command if it already happened (a retry of it). */
  async function alreadyHappened(
    context: CommandContext<C>,
  ): Promise<HandlerOutcome | undefined> {
    const record = await finalRecord(context);
    return record && await originalOutcome(record, context);
  }

  /**
   * After a decision's append failed: an outcome the error may hide is
   * resolved (see `resolved`); an append refused because the command
   * already has a final record answers with that outcome; a conflict (a
   * stream's, or a failed condition) waits out its backoff — `conflicts`
   * counts it — and asks for the command to be decided again (`again`,
   * with the conflict). Anything else, and a conflict past the attempts,
   * is thrown. (The append's first try stays with the caller: a command
   * that appends at once allocates nothing here.)
   */
  async function afterFailedAppend<R>(
    error: unknown,
    append: () => Promise<R>,
    conflicts: () => number,
    context: CommandContext<C>,
  ): Promise<{ result: R } | { recorded: HandlerOutcome } | { again: unknown }> {
    try {
      return { result: await resolved(error, append, context) };
    } catch (last) {
      const recorded = await recordedOutcome(last, context);
      if (recorded) return { recorded };
      await backOff(last, conflicts(), context);
      return { again: last };
    }
  }

  /** An append refused because the command already has a final record: its outcome. */
  async function recordedOutcome(
    error: unknown,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome | undefined> {
    if (!(error instanceof CommandAlreadyRecordedError)) return undefined;
    const record = error.existing ?? await finalRecord(context);
    return record && await originalOutcome(record, context);
  }

  /**
   * Counts a conflict (a stream's, or a failed append condition): reports a
   * stream conflict, then waits out the backoff, or rethrows it once the
   * attempts are used up.
   */
  function backOff(
    error: unknown,
    conflicts: number,
    context: CommandContext<C>,
  ): Promise<void> {
    if (error instanceof ConcurrencyError) options.onConflict?.(error, conflicts);
    else if (!(error instanceof AppendConditionError)) throw error;
    if (conflicts >= policy.maxAttempts) throw error;
    return context.clock.sleep(backoffDelay(policy, conflicts), context.signal);
  }

  /**
   * Keeps a stream's new state after an append: in the cache, and in a
   * snapshot when the stream crossed a multiple of `snapshots.every`. Returns
   * a promise only when a snapshot is being saved.
   */
  function remember(
    from: LoadedStream<S>,
    decided: readonly E[],
    result: AppendResult<E>,
    context: CommandContext<C>,
  ): Promise<void> | undefined {
    if (!caching && !snapshots) return undefined;
    const state = fold(from.stateFold, decided, from.state);
    cacheOf(from.stateFold)?.set(result.streamId, state, result.nextExpectedVersion);
    if (follower && result.events.length > 0) {
      follower.startAfter(result.events[result.events.length - 1].position);
    }
    if (
      !snapshots || from.stateFold !== decider ||
      Math.floor(result.nextExpectedVersion / snapshots.every) <=
        Math.floor(from.version / snapshots.every)
    ) return undefined;
    // A lost snapshot only costs a longer load later: report, go on.
    return snapshots.store.save({
      streamId: result.streamId,
      version: result.nextExpectedVersion,
      schemaVersion: snapshotSchema,
      state,
      takenAt: new Date(context.clock.now()),
    }).catch((error) => context.reportError(error));
  }

  /** The common case, one stream: no arrays to build around it. */
  async function decideOne(
    decider: Decider<C, S, E>,
    { streamId, require }: StreamTarget,
    command: C,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome> {
    let refresh = false;
    let conflicts = 0;
    while (true) {
      throwIfPastDeadline(context);
      // A cached state is used as it is, without a trip through a promise.
      const loaded = (refresh ? undefined : cachedState(streamId, decider, NONE)) ??
        await load(streamId, decider, context.signal);
      refresh = false;

      let decided: readonly E[];
      try {
        if (require) requireOf({ name: streamId, streamId, require }, loaded.version);
        decided = decisionOf(decider.decide(command, loaded.state), "decide()");
      } catch (error) {
        // A refusal made on cached state counts only if that state was current.
        if (error instanceof CommandRejectedError && await isStale(loaded)) {
          refresh = true;
          continue;
        }
        // A retry of a command that already happened answers as it did then.
        const happened = await alreadyHappened(context);
        if (happened) return happened;
        throw error;
      }
      if (decided.length === 0) {
        if (await isStale(loaded)) {
          refresh = true;
          continue;
        }
        const happened = await alreadyHappened(context);
        if (happened) return happened;
        return { events: [], streams: [] };
      }

      const commandRecord = atomicRecordFor(context, store);
      const events = stamped(decided, metadataOf(context), context.commandId, 0);
      const append = () =>
        store.appendToStream<E>(streamId, events, {
          expectedVersion: loaded.version,
          commandRecord,
          signal: context.signal,
        });
      let result: AppendResult<E>;
      try {
        result = await append();
      } catch (error) {
        const outcome = await afterFailedAppend(
          error,
          append,
          () => ++conflicts,
          context,
        );
        if ("recorded" in outcome) return outcome.recorded;
        if ("again" in outcome) {
          refresh = true;
          continue;
        }
        result = outcome.result;
      }
      if (commandRecord) markRecordedAtomically(context);
      const saving = remember(loaded, decided, result, context);
      if (saving) await saving;
      return result.events.length > 0
        ? {
          events: result.events,
          streams: [{ streamId, version: result.nextExpectedVersion }],
        }
        : { events: [], streams: [] };
    }
  }

  /** Several named streams: decided together, all appended atomically. */
  async function decideMany(
    plan: CommandPlan<E>,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome> {
    // Streams to read before the next decision; empty on the happy path.
    let mustRefresh: string[] = [];
    let conflicts = 0;
    while (true) {
      throwIfPastDeadline(context);
      const loaded = await Promise.all(
        plan.streams.map(({ streamId, fold: stateFold }) =>
          cachedState(streamId, stateFold, mustRefresh) ??
            load(streamId, stateFold, context.signal)
        ),
      );
      if (mustRefresh.length > 0) mustRefresh = [];

      let decided: (readonly E[])[];
      try {
        decided = plan.decide(
          loaded.map((stream) => stream.state),
          loaded.map((stream) => stream.version),
        );
      } catch (error) {
        // A refusal made on cached state counts only if that state was current.
        if (error instanceof CommandRejectedError) {
          const stale = await staleStreams(loaded);
          if (stale.length > 0) {
            mustRefresh = stale;
            continue;
          }
        }
        // A retry of a command that already happened answers as it did then.
        const happened = await alreadyHappened(context);
        if (happened) return happened;
        throw error;
      }

      if (decided.every((events) => events.length === 0)) {
        const stale = await staleStreams(loaded);
        if (stale.length > 0) {
          mustRefresh = stale;
          continue;
        }
        const happened = await alreadyHappened(context);
        if (happened) return happened;
        return { events: [], streams: [] };
      }

      const metadata = metadataOf(context);
      const commandRecord = atomicRecordFor(context, store);
      let offset = 0;
      const appends = loaded.map((stream, i) => {
        const events = stamped(decided[i], metadata, context.commandId, offset);
        offset += events.length;
        return { streamId: stream.streamId, events, expectedVersion: stream.version };
      });
      const append = () =>
        store.appendToStreams<E>(appends, { commandRecord, signal: context.signal });
      let results: readonly AppendResult<E>[];
      try {
        results = await append();
      } catch (error) {
        const outcome = await afterFailedAppend(
          error,
          append,
          () => ++conflicts,
          context,
        );
        if ("recorded" in outcome) return outcome.recorded;
        if ("again" in outcome) {
          mustRefresh = [(outcome.again as ConcurrencyError).streamId];
          continue;
        }
        results = outcome.result;
      }
      if (commandRecord) markRecordedAtomically(context);

      const events: RecordedEvent[] = [];
      const streams: StreamVersion[] = [];
      for (let i = 0; i < loaded.length; i++) {
        const result = results[i];
        const saving = remember(loaded[i], decided[i], result, context);
        if (saving) await saving;
        if (result.events.length > 0) {
          streams.push({
            streamId: result.streamId,
            version: result.nextExpectedVersion,
          });
          for (const event of result.events) events.push(event);
        }
      }
      return { events, streams };
    }
  }

  /**
   * A command decided on the events of a query: read them and the head,
   * decide, append on the condition that nothing matching came after the
   * head; a failed condition means someone decided first: read and decide
   * again, with backoff.
   */
  async function decideByQuery(
    definition: QueryHandlerOptions<C, S, E>,
    command: C,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome> {
    const query = definition.query(command);
    const streamId = definition.streamId(command);
    if (typeof streamId !== "string") {
      throw new TypeError(`streamId() must return a string, got ${typeof streamId}`);
    }
    let failedConditions = 0;
    while (true) {
      throwIfPastDeadline(context);
      const read = await store.readQuery!<E>(
        query,
        context.signal ? { signal: context.signal } : {},
      );
      let decided: readonly E[];
      try {
        decided = decisionOf(
          queryDecider!.decide(command, fold(queryDecider!, read.events)),
          "decide()",
        );
      } catch (error) {
        // A retry of a command that already happened answers as it did then.
        const happened = await alreadyHappened(context);
        if (happened) return happened;
        throw error;
      }
      if (decided.length === 0) {
        const happened = await alreadyHappened(context);
        if (happened) return happened;
        return { events: [], streams: [] };
      }
      const commandRecord = atomicRecordFor(context, store);
      const events = stamped(decided, metadataOf(context), context.commandId, 0);
      const condition = { failIfEventsMatch: query, after: read.head };
      const append = () =>
        store.appendToStream<E>(streamId, events, {
          condition,
          commandRecord,
          signal: context.signal,
        });
      let result: AppendResult<E>;
      try {
        result = await append();
      } catch (error) {
        const outcome = await afterFailedAppend(
          error,
          append,
          () => ++failedConditions,
          context,
        );
        if ("recorded" in outcome) return outcome.recorded;
        if ("again" in outcome) continue;
        result = outcome.result;
      }
      if (commandRecord) markRecordedAtomically(context);
      return {
        events: result.events,
        streams: [{ streamId, version: result.nextExpectedVersion }],
      };
    }
  }

  return (command, context) => {
    try {
      if (byQuery) return decideByQuery(byQuery, command, context);
      if (decider) {
        const target = targetOf(single!.streamId(command), "streamId()");
        return decideOne(decider, target, command, context);
      }
      return decideMany(planCommand(multi as DeciderDefinition<C, E>, command), context);
    } catch (error) {
      // Bad input fails the returned promise, as every other failure does.
      return Promise.reject(error);
    }
  };
}

const NONE: readonly string[] = [];

function throwIfPastDeadline(context: CommandContext): void {
  if (context.signal?.aborted) throw context.signal.reason;
  if (context.deadline !== undefined && context.clock.now() >= context.deadline) {
    throw new CommandTimeoutError(context.command.type, context.deadline);
  }
}
