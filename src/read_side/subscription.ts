/**
 * Durable subscriptions: a named consumer that catches up from its
 * checkpoint, follows live, and survives restarts.
 *
 * @module
 */

import type { ConsumerLock } from "../consumer_lock.ts";
import { type Clock, systemClock } from "../clock.ts";
import type { Event, RecordedEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import { EventDecodeError } from "../errors.ts";
import { backoffDelay, resolveRetryPolicy, type RetryPolicy } from "../retry.ts";
import type { CheckpointStore } from "../checkpoint_store.ts";
import { waitForMoreEvents } from "./_wait_for_events.ts";

/**
 * An event a subscription gave up on, with why.
 *
 * @example Keep poison events for later
 * ```ts
 * import type { DeadLetter } from "@verdict/verdict";
 *
 * const deadLetters: DeadLetter[] = [];
 * const onError = { then: "skip" as const, deadLetter: (letter: DeadLetter) => void deadLetters.push(letter) };
 * ```
 */
export interface DeadLetter {
  /** The subscription's name. */
  readonly subscription: string;
  /**
   * The event it could not handle; absent when the stored event itself is
   * damaged and could not be read (`error` is then the `EventDecodeError`).
   */
  readonly event?: RecordedEvent;
  /** The global position skipped. */
  readonly position: number;
  /** The handler's last error, or the `EventDecodeError` of a damaged event. */
  readonly error: unknown;
  /** How many times it tried. */
  readonly attempts: number;
}

/**
 * Options of {@linkcode Subscription}.
 *
 * @example
 * ```ts
 * import { Subscription, type SubscriptionOptions } from "@verdict/verdict";
 * import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const options: SubscriptionOptions = {
 *   name: "welcome-emails",
 *   store: new MemoryEventStore(),
 *   checkpoints: new MemoryCheckpointStore(),
 *   eventTypes: ["AccountOpened"],
 *   checkpointEvery: { events: 50, ms: 500 },
 *   onError: { retry: { maxAttempts: 5 }, then: "stop" },
 *   handle: (event) => console.log("would send a welcome email for", event.streamId),
 * };
 * const subscription = new Subscription(options);
 * ```
 */
export interface SubscriptionOptions<E extends Event = Event> {
  /** The consumer's name: its checkpoint is kept under it. */
  readonly name: string;
  /** Where the events are. */
  readonly store: EventStore;
  /** Where the checkpoint is kept. */
  readonly checkpoints: CheckpointStore;
  /** Handles one event. A throw is retried, then handled by `onError`. */
  readonly handle: (event: RecordedEvent<E>) => void | Promise<void>;
  /** Only events of these types reach `handle` (the checkpoint moves past the others). */
  readonly eventTypes?: readonly string[];
  /**
   * When the checkpoint is saved: after every `events` handled events or
   * `ms` milliseconds, whichever comes first (default 100 events, 1,000 ms),
   * and on `stop()`. A consumer that dies between saves sees the events
   * since the last save again: delivery is at least once, and the
   * duplicates are at most one unsaved batch.
   */
  readonly checkpointEvery?: { readonly events?: number; readonly ms?: number };
  /**
   * What to do with an event the handler keeps failing on: retry it
   * (`retry`, default 5 attempts with jittered backoff), then `"stop"` the
   * subscription (the default; it can be restarted after a fix) or `"skip"`
   * the event after giving it to `deadLetter`. A stored event that is
   * damaged (the store raises an `EventDecodeError` for it) is handled by
   * the same choice: `"stop"` fails the subscription with that error,
   * `"skip"` gives it to `deadLetter` (without an `event`) and goes on.
   */
  readonly onError?: {
    readonly retry?: RetryPolicy;
    readonly then?: "stop" | "skip";
    readonly deadLetter?: (letter: DeadLetter) => void | Promise<void>;
  };
  /** Events read per page (default 500). */
  readonly batchSize?: number;
  /** How often to look for new events when the store cannot notify (default 500 ms). */
  readonly pollIntervalMs?: number;
  /** The clock for backoff and checkpoint timing (default: the system clock). */
  readonly clock?: Clock;
  /**
   * Only one process at a time consumes this name: the subscription waits
   * for the lock before loading its checkpoint and releases it on stop
   * (e.g. `PostgresConsumerLock`, on an advisory lock).
   */
  readonly lock?: ConsumerLock;
}

/**
 * Where a subscription is in its life.
 *
 * @example
 * ```ts
 * import type { SubscriptionStatus } from "@verdict/verdict";
 *
 * function healthy(status: SubscriptionStatus): boolean {
 *   return status === "running";
 * }
 * ```
 */
export type SubscriptionStatus = "idle" | "running" | "stopped" | "failed";

/**
 * A durable consumer of the global log. `start()` loads its checkpoint,
 * catches up and follows new events (woken by the store where it can
 * notify, polling otherwise); each event is handled, then the checkpoint
 * moves past it, saved in batches. `stop()` lets the event in hand finish
 * and saves the checkpoint; after a restart the subscription resumes where
 * it left off.
 *
 * @example A read model of balances, kept up to date
 * ```ts
 * import { Subscription } from "@verdict/verdict";
 * import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const balances = new Map<string, number>();
 * const subscription = new Subscription<{ type: "Deposited"; data: { amount: number } }>({
 *   name: "balances",
 *   store,
 *   checkpoints: new MemoryCheckpointStore(),
 *   eventTypes: ["Deposited"],
 *   handle: (event) => {
 *     balances.set(event.streamId, (balances.get(event.streamId) ?? 0) + event.data.amount);
 *   },
 * }).start();
 *
 * await store.appendToStream("account-1", [{ type: "Deposited", data: { amount: 5 } }]);
 * await subscription.waitUntilCaughtUp();
 * assert.equal(balances.get("account-1"), 5);
 * await subscription.stop();
 * ```
 */
export class Subscription<E extends Event = Event> {
  readonly #options: SubscriptionOptions<E>;
  readonly #clock: Clock;
  readonly #every: { events: number; ms: number };
  readonly #types?: ReadonlySet<string>;
  #status: SubscriptionStatus = "idle";
  #position = 0;
  #saved = 0;
  #savedAt = 0;
  #sinceSave = 0;
  #error: unknown;
  #stop = new AbortController();
  #running?: Promise<void>;
  #caughtUp: { readonly since: number; resolve(): void; reject(e: unknown): void }[] = [];
  #reads = 0;

  /** Creates a subscription; nothing happens until `start()`. */
  constructor(options: SubscriptionOptions<E>) {
    if (typeof options.name !== "string" || options.name.length === 0) {
      throw new TypeError("A subscription needs a non-empty name");
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#every = {
      events: options.checkpointEvery?.events ?? 100,
      ms: options.checkpointEvery?.ms ?? 1_000,
    };
    this.#types = options.eventTypes && new Set(options.eventTypes);
  }

  /** Where the subscription is in its life. */
  get status(): SubscriptionStatus {
    return this.#status;
  }

  /** The position of the last event handled (or skipped by the filter). */
  get position(): number {
    return this.#position;
  }

  /** Why the subscription failed, when its status is `"failed"`. */
  get error(): unknown {
    return this.#error;
  }

  /** Starts following from the saved checkpoint. */
  start(): this {
    if (this.#status === "running") return this;
    this.#status = "running";
    this.#error = undefined;
    this.#stop = new AbortController();
    this.#running = this.#run().catch((error) => {
      this.#status = "failed";
      this.#error = error;
      for (const waiter of this.#caughtUp.splice(0)) waiter.reject(error);
    });
    return this;
  }

  /**
   * Resolves once the subscription has handled every event that existed
   * when it was called; rejects if the subscription fails first.
   */
  waitUntilCaughtUp(): Promise<void> {
    if (this.#status === "failed") return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#caughtUp.push({ since: this.#reads, resolve, reject });
    });
  }

  /** Stops after the event in hand and saves the checkpoint. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    if (this.#status === "running") this.#status = "stopped";
    for (const waiter of this.#caughtUp.splice(0)) waiter.resolve();
  }

  async #run(): Promise<void> {
    const { checkpoints, name } = this.#options;
    const batchSize = this.#options.batchSize ?? 500;
    const signal = this.#stop.signal;
    let release: (() => Promise<void>) | undefined;
    if (this.#options.lock) {
      try {
        release = await this.#options.lock.acquire(name, signal);
      } catch (error) {
        if (signal.aborted) return; // stopped while waiting for the lock
        throw error;
      }
    }
    try {
      this.#position = this.#saved = await checkpoints.load(name);
      this.#savedAt = this.#clock.now();
      await this.#follow(signal, batchSize);
    } finally {
      await release?.();
    }
  }

  async #follow(signal: AbortSignal, batchSize: number): Promise<void> {
    const { store } = this.#options;
    try {
      while (!signal.aborted) {
        // A read that starts after a waiter registered can satisfy it.
        const read = ++this.#reads;
        const page = await this.#read(store, batchSize);
        if (page === undefined) return;
        for (const event of page) {
          if (signal.aborted) break;
          if (!this.#types || this.#types.has(event.type)) {
            if (!await this.#deliver(event)) return;
          }
          this.#position = event.position;
          if (
            this.#position - this.#saved > 0 &&
            (++this.#sinceSave >= this.#every.events ||
              this.#clock.now() - this.#savedAt >= this.#every.ms)
          ) await this.#save();
        }
        if (page.length === batchSize || signal.aborted) continue;
        // Caught up with everything that existed when this read began.
        for (const waiter of this.#caughtUp.filter((w) => w.since < read)) {
          waiter.resolve();
        }
        this.#caughtUp = this.#caughtUp.filter((w) => w.since >= read);
        if (this.#position !== this.#saved) await this.#save();
        await this.#idle(signal);
      }
    } finally {
      if (this.#position !== this.#saved) await this.#save();
    }
  }

  /**
   * The next page, or `undefined` when the subscription failed. A damaged
   * stored event fails the read: under the "stop" policy the subscription
   * fails with its `EventDecodeError`; under "skip" the events before it
   * are read one at a time and delivered, and the damaged one goes to the
   * dead-letter handler and is passed over.
   */
  async #read(
    store: EventStore,
    batchSize: number,
  ): Promise<RecordedEvent<E>[] | undefined> {
    try {
      return await store.readAll<E>({ after: this.#position, limit: batchSize });
    } catch (error) {
      if (
        !(error instanceof EventDecodeError) ||
        (this.#options.onError?.then ?? "stop") !== "skip" ||
        !(error.position > this.#position)
      ) throw error;
    }
    // Up to the damaged event, one event per read: each read returns the
    // next good event or fails on the damaged one itself.
    for (;;) {
      let next: RecordedEvent<E>[];
      try {
        next = await store.readAll<E>({ after: this.#position, limit: 1 });
      } catch (error) {
        if (!(error instanceof EventDecodeError) || !(error.position > this.#position)) {
          throw error;
        }
        await this.#options.onError?.deadLetter?.({
          subscription: this.#options.name,
          position: error.position,
          error,
          attempts: 1,
        });
        this.#position = error.position;
        return await this.#read(store, batchSize);
      }
      if (next.length === 0) return next;
      if (!this.#types || this.#types.has(next[0].type)) {
        if (!await this.#deliver(next[0])) return undefined;
      }
      this.#position = next[0].position;
    }
  }

  async #save(): Promise<void> {
    await this.#options.checkpoints.save(this.#options.name, this.#position);
    this.#saved = this.#position;
    this.#savedAt = this.#clock.now();
    this.#sinceSave = 0;
  }

  /** Waits for new events: a notification from the store, or the next poll. */
  #idle(signal: AbortSignal): Promise<void> {
    return waitForMoreEvents(
      this.#options.store,
      this.#position,
      this.#options.pollIntervalMs ?? 500,
      this.#clock,
      signal,
    );
  }

  /** Handles one event with retries; false when the subscription must stop. */
  async #deliver(event: RecordedEvent<E>): Promise<boolean> {
    const policy = resolveRetryPolicy(this.#options.onError?.retry ?? { maxAttempts: 5 });
    for (let attempt = 1;; attempt++) {
      try {
        await this.#options.handle(event);
        return true;
      } catch (error) {
        if (attempt < policy.maxAttempts) {
          await this.#clock.sleep(backoffDelay(policy, attempt)).catch(() => {});
          continue;
        }
        if ((this.#options.onError?.then ?? "stop") === "skip") {
          await this.#options.onError?.deadLetter?.({
            subscription: this.#options.name,
            event: event as RecordedEvent,
            position: event.position,
            error,
            attempts: attempt,
          });
          return true;
        }
        this.#status = "failed";
        this.#error = error;
        for (const waiter of this.#caughtUp.splice(0)) waiter.reject(error);
        return false;
      }
    }
  }
}
