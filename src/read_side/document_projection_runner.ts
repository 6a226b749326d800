/**
 * The async side of document projections: a runner that follows the log
 * and commits each batch of documents together with the projection's
 * position.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import type { Event } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import type { DocumentStore } from "../document_store.ts";
import type { DocumentProjection } from "./document_projection.ts";
import type { RebuildProgress } from "./projection.ts";
import type { SubscriptionStatus } from "./subscription.ts";
import { waitForMoreEvents } from "./_wait_for_events.ts";

/**
 * Options of {@linkcode DocumentProjectionRunner}.
 *
 * @example
 * ```ts
 * import type { DocumentProjectionRunnerOptions } from "@verdict/verdict";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 *
 * const options: DocumentProjectionRunnerOptions = {
 *   store: new MemoryEventStore(),
 *   documents: new MemoryDocumentStore(),
 *   projection: { name: "noop", documentId: () => undefined, evolve: () => undefined },
 *   batchSize: 200,
 * };
 * ```
 */
export interface DocumentProjectionRunnerOptions<E extends Event = Event> {
  /** The projection. */
  readonly projection: DocumentProjection<E>;
  /** Where the events are. */
  readonly store: EventStore;
  /** Where the documents and the projection's position are kept. */
  readonly documents: DocumentStore;
  /** Events read and committed per batch (default 500). */
  readonly batchSize?: number;
  /** How often to look for new events when the store cannot notify, in ms (default 500). */
  readonly pollIntervalMs?: number;
  /** The clock used between polls (default: the system clock). */
  readonly clock?: Clock;
}

/**
 * Runs a {@linkcode DocumentProjection} asynchronously: reads the log after
 * the projection's position, and commits every batch — documents and
 * position — in one transaction of the document store
 * ({@linkcode DocumentStore.apply}). A stop or a crash at any moment
 * leaves the documents exactly as of the last committed batch, so a restart
 * neither loses nor repeats an event, and two runners of one projection (in
 * two processes, say) cannot apply an event twice.
 *
 * A failing `evolve` stops the runner (status `"failed"`, the error in
 * `error`), with the batch not applied; `start()` tries again.
 *
 * @example Balances kept off the write path
 * ```ts
 * import { DocumentProjectionRunner } from "@verdict/verdict";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const documents = new MemoryDocumentStore();
 * const runner = new DocumentProjectionRunner<{ type: "Deposited"; data: { amount: number } }>({
 *   store,
 *   documents,
 *   projection: {
 *     name: "balances",
 *     documentId: (event) => event.streamId,
 *     evolve: (balance: number | undefined, event) => (balance ?? 0) + event.data.amount,
 *   },
 * });
 * await store.appendToStream("a", [{ type: "Deposited", data: { amount: 3 } }]);
 * runner.start();
 * await runner.waitUntilCaughtUp();
 * assert.equal(await documents.get("balances", "a"), 3);
 * await runner.stop();
 * ```
 */
export class DocumentProjectionRunner<E extends Event = Event> {
  readonly #options: DocumentProjectionRunnerOptions<E>;
  readonly #batchSize: number;
  readonly #clock: Clock;
  #status: SubscriptionStatus = "idle";
  #error: unknown;
  #position = 0;
  #stop = new AbortController();
  #running?: Promise<void>;
  #caughtUp: { readonly since: number; resolve(): void; reject(e: unknown): void }[] = [];
  #reads = 0;

  /** Creates a runner; nothing runs until `start()` or `rebuild()`. */
  constructor(options: DocumentProjectionRunnerOptions<E>) {
    const batchSize = options.batchSize ?? 500;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be an integer >= 1, got ${batchSize}`);
    }
    if (typeof options.projection?.name !== "string" || options.projection.name === "") {
      throw new TypeError("A document projection needs a non-empty name");
    }
    this.#options = options;
    this.#batchSize = batchSize;
    this.#clock = options.clock ?? systemClock;
  }

  /** Where the runner is in its life. */
  get status(): SubscriptionStatus {
    return this.#status;
  }

  /** Why the runner failed, when its status is `"failed"`. */
  get error(): unknown {
    return this.#error;
  }

  /** The position of the last event committed by this runner. */
  get position(): number {
    return this.#position;
  }

  /** Follows the log from the projection's position. */
  start(): this {
    if (this.#status === "running") return this;
    this.#begin(undefined);
    return this;
  }

  #begin(onBatch: ((replayed: number, position: number) => void) | undefined): void {
    this.#status = "running";
    this.#error = undefined;
    this.#stop = new AbortController();
    this.#running = this.#run(this.#stop.signal, onBatch).catch((error) => {
      this.#status = "failed";
      this.#error = error;
      for (const waiter of this.#caughtUp.splice(0)) waiter.reject(error);
    });
  }

  /**
   * Resolves once the runner has committed every event that existed when it
   * was called; rejects if it fails first. Starts the runner when idle.
   */
  waitUntilCaughtUp(): Promise<void> {
    if (this.#status === "failed") return Promise.reject(this.#error);
    const waiting = new Promise<void>((resolve, reject) => {
      this.#caughtUp.push({ since: this.#reads, resolve, reject });
    });
    if (this.#status !== "running") this.start();
    return waiting;
  }

  /** Stops after the batch in hand has committed. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    if (this.#status === "running") this.#status = "stopped";
    for (const waiter of this.#caughtUp.splice(0)) waiter.resolve();
  }

  /**
   * Deletes the projection's documents, moves its position back to 0 and
   * replays the whole log, calling `onProgress` after each committed batch;
   * resolves when caught up. A running runner is stopped first and
   * restarted after.
   *
   * To rebuild a projection that runs inline, rebuild while no command
   * runs: an append during the replay would be projected twice.
   */
  async rebuild(onProgress?: (progress: RebuildProgress) => void): Promise<void> {
    const wasRunning = this.#status === "running";
    await this.stop();
    await this.#options.documents.reset(this.#options.projection.name);
    let replayed = 0;
    this.#begin((count, position) =>
      onProgress?.({ replayed: replayed += count, position })
    );
    try {
      await this.waitUntilCaughtUp();
    } finally {
      await this.stop();
    }
    if (wasRunning) this.start();
  }

  async #run(
    signal: AbortSignal,
    onBatch: ((replayed: number, position: number) => void) | undefined,
  ): Promise<void> {
    const { store, documents, projection } = this.#options;
    this.#position = await documents.position(projection.name);
    while (!signal.aborted) {
      // A read that starts after a waiter registered can satisfy it.
      const read = ++this.#reads;
      const page = await store.readAll<E>({
        after: this.#position,
        limit: this.#batchSize,
      });
      if (page.length > 0) {
        await documents.apply(projection, page);
        this.#position = page[page.length - 1].position;
        onBatch?.(page.length, this.#position);
      }
      if (page.length === this.#batchSize) continue;
      for (const waiter of this.#caughtUp.filter((w) => w.since < read)) waiter.resolve();
      this.#caughtUp = this.#caughtUp.filter((w) => w.since >= read);
      if (signal.aborted) break;
      await waitForMoreEvents(
        store,
        this.#position,
        this.#options.pollIntervalMs ?? 500,
        this.#clock,
        signal,
      );
    }
  }
}
