/**
 * Asynchronous projections: read models kept by a subscription, and rebuilt
 * from the beginning of the log on demand.
 *
 * @module
 */

import type { Event, RecordedEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import { Subscription, type SubscriptionOptions } from "./subscription.ts";
import type { CheckpointStore } from "../checkpoint_store.ts";

/**
 * A read model fed by events.
 *
 * @example A count of opened accounts
 * ```ts
 * import type { Projection } from "@verdict/verdict";
 *
 * let opened = 0;
 * const openedAccounts: Projection = {
 *   name: "opened-accounts",
 *   eventTypes: ["AccountOpened"],
 *   project: () => void opened++,
 *   reset: () => void (opened = 0),
 * };
 * ```
 */
export interface Projection<E extends Event = Event> {
  /** The projection's name: its subscription and checkpoint are kept under it. */
  readonly name: string;
  /** The event types it reads (all when omitted). */
  readonly eventTypes?: readonly string[];
  /** Applies one event to the read model. Must tolerate seeing an event twice. */
  project(event: RecordedEvent<E>): void | Promise<void>;
  /** Empties the read model, before a rebuild. */
  reset(): void | Promise<void>;
}

/**
 * Progress of a rebuild.
 *
 * @example
 * ```ts
 * import type { RebuildProgress } from "@verdict/verdict";
 *
 * const report = (p: RebuildProgress) => console.log(`replayed ${p.replayed} events, at ${p.position}`);
 * ```
 */
export interface RebuildProgress {
  /** Events replayed so far. */
  readonly replayed: number;
  /** The position reached. */
  readonly position: number;
}

/**
 * Options of {@linkcode ProjectionRunner}.
 *
 * @example
 * ```ts
 * import { type ProjectionRunnerOptions } from "@verdict/verdict";
 * import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const options: ProjectionRunnerOptions = {
 *   store: new MemoryEventStore(),
 *   checkpoints: new MemoryCheckpointStore(),
 *   projection: { name: "noop", project: () => {}, reset: () => {} },
 *   subscription: { checkpointEvery: { events: 500 }, onError: { then: "stop" } },
 * };
 * ```
 */
export interface ProjectionRunnerOptions<E extends Event = Event> {
  /** The projection. */
  readonly projection: Projection<E>;
  /** Where the events are. */
  readonly store: EventStore;
  /** Where its checkpoint is kept. */
  readonly checkpoints: CheckpointStore;
  /** More subscription options (error policy, checkpoint batching, lock, …). */
  readonly subscription?: Omit<
    SubscriptionOptions<E>,
    "name" | "store" | "checkpoints" | "handle" | "eventTypes"
  >;
}

/**
 * Keeps a projection current on a durable subscription, and rebuilds it:
 * `rebuild()` empties the read model, moves the checkpoint back to the
 * start, and replays every event, reporting progress as it goes.
 *
 * @example Balances per account
 * ```ts
 * import { ProjectionRunner } from "@verdict/verdict";
 * import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const balances = new Map<string, number>();
 * const store = new MemoryEventStore();
 * const runner = new ProjectionRunner<{ type: "Deposited"; data: { amount: number } }>({
 *   store,
 *   checkpoints: new MemoryCheckpointStore(),
 *   projection: {
 *     name: "balances",
 *     project: (e) => void balances.set(e.streamId, (balances.get(e.streamId) ?? 0) + e.data.amount),
 *     reset: () => balances.clear(),
 *   },
 * });
 * await store.appendToStream("a", [{ type: "Deposited", data: { amount: 3 } }]);
 * await runner.rebuild();
 * assert.equal(balances.get("a"), 3);
 * ```
 */
export class ProjectionRunner<E extends Event = Event> {
  readonly #options: ProjectionRunnerOptions<E>;
  #subscription?: Subscription<E>;

  /** Creates a runner; nothing runs until `start()` or `rebuild()`. */
  constructor(options: ProjectionRunnerOptions<E>) {
    this.#options = options;
  }

  #subscribe(onEvent?: (event: RecordedEvent<E>) => void): Subscription<E> {
    const { projection, store, checkpoints, subscription } = this.#options;
    return new Subscription<E>({
      ...subscription,
      name: `projection:${projection.name}`,
      store,
      checkpoints,
      eventTypes: projection.eventTypes,
      handle: async (event) => {
        await projection.project(event);
        onEvent?.(event);
      },
    });
  }

  /** Follows the log from the projection's checkpoint. */
  start(): Subscription<E> {
    this.#subscription ??= this.#subscribe().start();
    return this.#subscription;
  }

  /** Resolves once the projection has seen every event that existed when called. */
  waitUntilCaughtUp(): Promise<void> {
    return this.start().waitUntilCaughtUp();
  }

  /** Stops following, saving the checkpoint. */
  async stop(): Promise<void> {
    await this.#subscription?.stop();
    this.#subscription = undefined;
  }

  /**
   * Empties the read model and replays the whole log into it, calling
   * `onProgress` after each event; resolves when caught up. A running
   * projection is stopped first and restarted after.
   */
  async rebuild(onProgress?: (progress: RebuildProgress) => void): Promise<void> {
    const wasRunning = this.#subscription !== undefined;
    await this.stop();
    const { projection, checkpoints } = this.#options;
    await projection.reset();
    await checkpoints.save(`projection:${projection.name}`, 0);
    let replayed = 0;
    const replay = this.#subscribe((event) =>
      onProgress?.({ replayed: ++replayed, position: event.position })
    ).start();
    try {
      await replay.waitUntilCaughtUp();
    } finally {
      await replay.stop();
    }
    if (wasRunning) this.start();
  }
}
