/**
 * A chaos kit: wrappers that make any event store or command log misbehave
 * the way networks and databases do — fail before a write, fail after a
 * commit (the caller never learns it landed), answer late, or not at all —
 * from a seeded random source, so a failing run can be replayed.
 *
 * @module
 */

import type { CommandLogStore, CommandRecord } from "../command_log.ts";
import type { Event, RecordedEvent } from "../event.ts";
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
} from "../event_store.ts";
import type { NewEvent } from "../event.ts";

/**
 * How often a chaotic store misbehaves, per write (each a probability from
 * 0 to 1), and the seed of its random source.
 *
 * @example
 * ```ts
 * import type { ChaosOptions } from "@verdict/verdict/testing";
 *
 * const options: ChaosOptions = { seed: 7, failBeforeWrite: 0.05, failAfterCommit: 0.05 };
 * ```
 */
export interface ChaosOptions {
  /** The seed of the random source (default 1): the same seed, the same faults. */
  readonly seed?: number;
  /** A write fails before it reaches the store: nothing is written. */
  readonly failBeforeWrite?: number;
  /** A write is committed, then fails as if the answer was lost. */
  readonly failAfterCommit?: number;
  /**
   * A write never answers until its `signal` aborts (then it fails); half of
   * them commit first. Only writes that carry a signal hang.
   */
  readonly hang?: number;
  /** Each call waits a random time up to this many milliseconds first (default 0). */
  readonly maxLatencyMs?: number;
}

/**
 * What a chaotic wrapper did so far.
 *
 * @example
 * ```ts
 * import { chaosEventStore, type ChaosStats } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = chaosEventStore(new MemoryEventStore(), { failBeforeWrite: 0.5 });
 * const stats: ChaosStats = store.stats;
 * ```
 */
export interface ChaosStats {
  /** Writes passed through. */
  writes: number;
  /** Writes failed before writing. */
  failedBefore: number;
  /** Writes failed after committing. */
  failedAfter: number;
  /** Writes that hung until aborted. */
  hung: number;
}

/**
 * The failure a chaotic wrapper injects: not one of verdict's own errors,
 * so code sees it as it would see a lost connection.
 *
 * @example
 * ```ts
 * import { ChaosError } from "@verdict/verdict/testing";
 *
 * const error = new ChaosError("after commit");
 * console.log(error.message);
 * ```
 */
export class ChaosError extends Error {
  /** When it struck: `"before write"`, `"after commit"` or `"hang"`. */
  readonly when: string;
  /** Creates the error for the moment it struck. */
  constructor(when: string) {
    super(`chaos: the connection was lost (${when})`);
    this.name = "ChaosError";
    this.when = when;
  }
}

/** A small, fast, seeded random source (mulberry32). */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs one write with the faults the options call for. */
function chaotic(options: ChaosOptions, stats: ChaosStats) {
  const random = randomSource(options.seed ?? 1);
  return async <T>(write: () => Promise<T>, signal?: AbortSignal): Promise<T> => {
    const max = options.maxLatencyMs ?? 0;
    if (max > 0) await new Promise((resolve) => setTimeout(resolve, random() * max));
    const roll = random();
    let edge = options.failBeforeWrite ?? 0;
    if (roll < edge) {
      stats.failedBefore++;
      throw new ChaosError("before write");
    }
    const after = roll < (edge += options.failAfterCommit ?? 0);
    const hang = signal !== undefined && roll < edge + (options.hang ?? 0) && !after;
    if (hang) {
      stats.hung++;
      const commitFirst = random() < 0.5;
      if (commitFirst) await write();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener("abort", () => resolve(), { once: true });
      });
      throw new ChaosError(commitFirst ? "hang after commit" : "hang before write");
    }
    const result = await write();
    stats.writes++;
    if (after) {
      stats.failedAfter++;
      throw new ChaosError("after commit");
    }
    return result;
  };
}

/**
 * Wraps an event store so that its appends fail, stall or hang as `options`
 * say; reads pass through. The wrapper shares the store's `commandLog`, so
 * atomic audit still commits records with the events.
 *
 * @example Five percent of appends fail after they committed
 * ```ts
 * import { chaosEventStore } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = chaosEventStore(new MemoryEventStore(), { seed: 3, failAfterCommit: 0.05 });
 * for (let i = 0; i < 100; i++) {
 *   await store.appendToStream("s", [{ type: "A", data: { i } }]).catch(() => {});
 * }
 * console.log(store.stats.failedAfter, "appends landed but failed");
 * ```
 */
export function chaosEventStore(
  store: EventStore,
  options: ChaosOptions = {},
): EventStore & { readonly stats: ChaosStats } {
  const stats: ChaosStats = { writes: 0, failedBefore: 0, failedAfter: 0, hung: 0 };
  const run = chaotic(options, stats);
  return {
    stats,
    commandLog: store.commandLog,
    appendToStream<E extends Event = Event>(
      streamId: string,
      events: readonly NewEvent<E>[],
      appendOptions?: AppendOptions,
    ): Promise<AppendResult<E>> {
      return run(
        () => store.appendToStream(streamId, events, appendOptions),
        appendOptions?.signal,
      );
    },
    appendToStreams<E extends Event = Event>(
      appends: readonly StreamAppend<E>[],
      appendOptions?: Omit<AppendOptions, "expectedVersion">,
    ): Promise<AppendResult<E>[]> {
      return run(
        () => store.appendToStreams(appends, appendOptions),
        appendOptions?.signal,
      );
    },
    readStream<E extends Event = Event>(
      streamId: string,
      readOptions?: ReadStreamOptions,
    ): Promise<RecordedEvent<E>[]> {
      return store.readStream(streamId, readOptions);
    },
    readEvents<E extends Event = Event>(
      ids: readonly string[],
    ): Promise<RecordedEvent<E>[]> {
      if (!store.readEvents) return Promise.resolve([]);
      return store.readEvents(ids);
    },
    readAll<E extends Event = Event>(
      readOptions?: ReadAllOptions,
    ): Promise<RecordedEvent<E>[]> {
      return store.readAll(readOptions);
    },
    streamVersion: (streamId: string) => store.streamVersion(streamId),
    close: () => store.close(),
  };
}

/**
 * Wraps a command log so that `record()` fails before or after writing as
 * `options` say; reads pass through. (A log that commits with the events —
 * atomic audit — is written by the event store, not through this wrapper.)
 *
 * @example
 * ```ts
 * import { chaosCommandLog, sampleCommandRecord } from "@verdict/verdict/testing";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * const log = chaosCommandLog(new MemoryCommandLog(), { failBeforeWrite: 1 });
 * await log.record(sampleCommandRecord()).catch((error) => console.log(error.message));
 * ```
 */
export function chaosCommandLog(
  log: CommandLogStore,
  options: ChaosOptions = {},
): CommandLogStore & { readonly stats: ChaosStats } {
  const stats: ChaosStats = { writes: 0, failedBefore: 0, failedAfter: 0, hung: 0 };
  const run = chaotic(options, stats);
  return {
    stats,
    record: (record: CommandRecord) => run(() => log.record(record)),
    get: (id) => log.get(id),
    findByCorrelation: (correlationId) => log.findByCorrelation(correlationId),
    findByType: (type, query) => log.findByType(type, query),
    list: (query) => log.list(query),
    close: () => log.close(),
  };
}
