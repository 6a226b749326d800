/**
 * The handler that runs a decider against an event store: load, decide,
 * append with the expected version, retry conflicts.
 *
 * @module
 */

import { assertValidStreamId } from "./append_rules.ts";
import type {
  Command,
  CommandContext,
  CommandHandler,
  HandlerOutcome,
  StreamVersion,
} from "./command_bus.ts";
import { type Decider, fold } from "./decider.ts";
import {
  CommandRejectedError,
  CommandTimeoutError,
  CommitUnknownError,
  ConcurrencyError,
  VerdictError,
} from "./errors.ts";
import { CommandAlreadyRecordedError, type CommandRecord } from "./command_record.ts";
import { eventIdOf } from "./uuid.ts";
import type { Event, EventMetadata, NewEvent, RecordedEvent } from "./event.ts";
import type { AppendOptions, AppendResult, EventStore } from "./event_store.ts";
import { backoffDelay, resolveRetryPolicy, type RetryPolicy } from "./retry.ts";
import type { SnapshotPolicy } from "./snapshot.ts";
import { StateCache } from "./state_cache.ts";

/**
 * Options of {@linkcode deciderHandler}.
 *
 * @example A transfer decided by both accounts
 * ```ts
 * import { type Command, CommandRejectedError, type Decider, type DeciderHandlerOptions } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * type Transfer = Command<"Transfer", { from: string; to: string; amount: number }>;
 * type Moved = { type: "Sent" | "Received"; data: { amount: number } };
 * type Account = { id?: string; balance: number };
 * const account: Decider<Transfer, Account, Moved> = {
 *   initialState: () => ({ balance: 0 }),
 *   decide(command, state) {
 *     if (state.id === command.data.from) {
 *       if (state.balance < command.data.amount) throw new CommandRejectedError("insufficient funds");
 *       return [{ type: "Sent", data: { amount: command.data.amount } }];
 *     }
 *     return [{ type: "Received", data: { amount: command.data.amount } }];
 *   },
 *   evolve: (state, event) => ({
 *     ...state,
 *     balance: state.balance + (event.type === "Sent" ? -1 : 1) * event.data.amount,
 *   }),
 * };
 * const options: DeciderHandlerOptions<Transfer, Account, Moved> = {
 *   decider: account,
 *   store: new MemoryEventStore(),
 *   // Both accounts' events commit in one append, or neither does.
 *   streamId: (command) => [`account-${command.data.from}`, `account-${command.data.to}`],
 *   retry: { maxAttempts: 5 },
 * };
 * ```
 */
export interface DeciderHandlerOptions<C extends Command, S, E extends Event> {
  /** The domain logic. */
  readonly decider: Decider<C, S, E>;
  /** Where the events live. */
  readonly store: EventStore;
  /**
   * The stream (or streams) a command acts on. With several, each stream's
   * state is decided on separately and all events commit atomically.
   */
  readonly streamId: (command: C) => string | readonly string[];
  /**
   * The state cache (default: a new one of 10,000 streams); `false` reads
   * every stream fully on every command.
   */
  readonly cache?: StateCache<S> | false;
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
   * Snapshots: a stream not in the cache is loaded from its latest snapshot
   * (of the same schema version) and the events after it; a snapshot is
   * taken each time a stream crosses a multiple of `every` events.
   */
  readonly snapshots?: SnapshotPolicy;
}

interface LoadedStream<S> {
  readonly streamId: string;
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
): CommandHandler<C> {
  const { decider, store } = options;
  const cache = options.cache === false
    ? undefined
    : options.cache ?? new StateCache<S>();
  const policy = resolveRetryPolicy(options.retry);
  const snapshots = options.snapshots;
  const snapshotSchema = snapshots?.schemaVersion ?? 1;
  if (snapshots && (!Number.isSafeInteger(snapshots.every) || snapshots.every < 1)) {
    throw new RangeError(
      `snapshots.every must be an integer >= 1, got ${snapshots.every}`,
    );
  }
  const metadataOf = options.metadata ??
    (defaultEventMetadata as (context: CommandContext<C>) => EventMetadata);

  /** The cached state of a stream not marked for refresh, unchecked. */
  function cachedState(
    streamId: string,
    mustRefresh: readonly string[],
  ): LoadedStream<S> | undefined {
    if (mustRefresh.length > 0 && mustRefresh.includes(streamId)) return undefined;
    const cached = cache?.get(streamId);
    return cached &&
      { streamId, state: cached.state, version: cached.version, checked: false };
  }

  /** Reads the stream: the events after the cached or snapshot state, or all of them. */
  async function load(
    streamId: string,
    signal?: AbortSignal,
  ): Promise<LoadedStream<S>> {
    const cached = cache?.get(streamId);
    // Start from the cached state, else from a snapshot of the same schema
    // version, else from the beginning; read only the events after it.
    let base: { state: S; version: number } | undefined = cached &&
      { state: cached.state, version: cached.version };
    if (!base && snapshots) {
      const snapshot = await snapshots.store.load<S>(streamId);
      if (snapshot && snapshot.schemaVersion === snapshotSchema) base = snapshot;
    }
    const from = base ? base.version + 1 : 1;
    const events = await store.readStream<E>(
      streamId,
      signal ? { from, signal } : { from },
    );
    const state = fold(decider, events, base ? base.state : undefined);
    const version = events.length > 0
      ? events[events.length - 1].version
      : base?.version ?? 0;
    cache?.set(streamId, state, version);
    return { streamId, state, version, checked: true };
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
    return events.map((event, i): NewEvent<E> => ({
      ...event,
      id: (event as NewEvent<E>).id ?? eventIdOf(commandId, offset + i),
      metadata: event.metadata ? { ...metadata, ...event.metadata } : metadata,
    }));
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
    if (context.atomicAudit) context.atomicAudit.committed = true;
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
    const log = atomicRecord(context) && context.atomicAudit!.log;
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

  /** An append refused because the command already has a final record: its outcome. */
  async function recordedOutcome(
    error: unknown,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome | undefined> {
    if (!(error instanceof CommandAlreadyRecordedError)) return undefined;
    const record = error.existing ?? await finalRecord(context);
    return record && await originalOutcome(record, context);
  }

  /** The accepted command's record, when it is to commit with the events. */
  function atomicRecord(
    context: CommandContext<C>,
  ): AppendOptions["commandRecord"] {
    const request = context.atomicAudit;
    return request && store.commandLog && request.log === store.commandLog
      ? request.buildAccepted
      : undefined;
  }

  /**
   * Counts a conflict: reports it, then waits out the backoff, or rethrows
   * it once the attempts are used up.
   */
  function backOff(
    error: unknown,
    conflicts: number,
    context: CommandContext<C>,
  ): Promise<void> {
    if (!(error instanceof ConcurrencyError)) throw error;
    options.onConflict?.(error, conflicts);
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
    if (!cache && !snapshots) return undefined;
    const state = fold(decider, decided, from.state);
    cache?.set(result.streamId, state, result.nextExpectedVersion);
    if (
      !snapshots ||
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
    streamId: string,
    command: C,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome> {
    let refresh = false;
    let conflicts = 0;
    while (true) {
      throwIfPastDeadline(context);
      // A cached state is used as it is, without a trip through a promise.
      const loaded = (refresh ? undefined : cachedState(streamId, NONE)) ??
        await load(streamId, context.signal);
      refresh = false;

      let decided: readonly E[];
      try {
        decided = decisionOf(decider.decide(command, loaded.state));
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

      const commandRecord = atomicRecord(context);
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
      } catch (first) {
        try {
          result = await resolved(first, append, context);
        } catch (error) {
          const recorded = await recordedOutcome(error, context);
          if (recorded) return recorded;
          await backOff(error, ++conflicts, context);
          refresh = true;
          continue;
        }
      }
      if (commandRecord) context.atomicAudit!.committed = true;
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

  /** Several streams: each decided on its own state, all appended atomically. */
  async function decideMany(
    streamIds: readonly string[],
    command: C,
    context: CommandContext<C>,
  ): Promise<HandlerOutcome> {
    // Streams to read before the next decision; empty on the happy path.
    let mustRefresh: string[] = [];
    let conflicts = 0;
    while (true) {
      throwIfPastDeadline(context);
      const loaded = await Promise.all(
        streamIds.map((id) => cachedState(id, mustRefresh) ?? load(id, context.signal)),
      );
      if (mustRefresh.length > 0) mustRefresh = [];

      let decided: (readonly E[])[];
      try {
        decided = loaded.map((stream) =>
          decisionOf(decider.decide(command, stream.state))
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
      const commandRecord = atomicRecord(context);
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
      } catch (first) {
        try {
          results = await resolved(first, append, context);
        } catch (error) {
          const recorded = await recordedOutcome(error, context);
          if (recorded) return recorded;
          await backOff(error, ++conflicts, context);
          mustRefresh = [(error as ConcurrencyError).streamId];
          continue;
        }
      }
      if (commandRecord) context.atomicAudit!.committed = true;

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

  return (command, context) => {
    try {
      const target = options.streamId(command);
      if (typeof target === "string") {
        assertValidStreamId(target);
        return decideOne(target, command, context);
      }
      const streamIds = [...new Set(target)];
      if (streamIds.length === 0) {
        throw new TypeError(`streamId() returned no stream for ${command.type}`);
      }
      for (const id of streamIds) assertValidStreamId(id);
      return streamIds.length === 1
        ? decideOne(streamIds[0], command, context)
        : decideMany(streamIds, command, context);
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

/** What `decide` returned, when it is the array of events it must be. */
function decisionOf<E>(decided: readonly E[]): readonly E[] {
  if (!Array.isArray(decided)) {
    throw new TypeError(
      `decide() must return an array of events (an empty one to decide nothing), got ${
        decided === null
          ? "null"
          : typeof decided === "object"
          ? "an object"
          : typeof decided
      }`,
    );
  }
  return decided;
}
