/**
 * Events as the domain writes them and as a store records them.
 *
 * @module
 */

/**
 * Metadata carried by an event: the well-known tracing fields, plus anything
 * else the application adds.
 *
 * @example
 * ```ts
 * import type { EventMetadata } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const metadata: EventMetadata = { correlationId: "req-1", userId: "ada", region: "eu" };
 * const store = new MemoryEventStore();
 * await store.appendToStream("s", [{ type: "Noted", data: {}, metadata }]);
 * const [event] = await store.readStream("s");
 * assert.deepEqual(event.metadata, metadata);
 * ```
 */
export interface EventMetadata {
  /** Ties together everything caused by one original request. */
  readonly correlationId?: string;
  /** The id of the command or event that directly caused this one. */
  readonly causationId?: string;
  /** Who asked for it. */
  readonly userId?: string;
  /** Which tenant it belongs to. */
  readonly tenantId?: string;
  /** A distributed-tracing id (e.g. W3C trace id). */
  readonly traceId?: string;
  /** Application-specific metadata. */
  readonly [key: string]: unknown;
}

/**
 * A domain event: a fact named in the past tense. Domains declare a
 * discriminated union of these, one member per `type`.
 *
 * @example A domain's events as a discriminated union
 * ```ts
 * import type { Event } from "@verdict/verdict";
 *
 * type CartEvent =
 *   | Event<"ItemAdded", { sku: string; qty: number }>
 *   | Event<"CartCheckedOut", { at: string }>;
 *
 * const added: CartEvent = { type: "ItemAdded", data: { sku: "A-1", qty: 2 } };
 * ```
 */
export interface Event<
  Type extends string = string,
  Data = unknown,
> {
  /** What happened, e.g. `"MoneyDeposited"`. */
  readonly type: Type;
  /** The facts of what happened. */
  readonly data: Data;
  /** Tracing and application metadata. */
  readonly metadata?: EventMetadata;
  /**
   * Tags that queries select the event by, e.g. `"course:c-1"` (see
   * `EventQuery`); each follows the rules of stream ids. Read back as
   * written, on stores that keep tags (`readQuery` present).
   */
  readonly tags?: readonly string[];
}

/**
 * An event to append: a domain event, optionally with the id it must be
 * stored under (a retry that reuses the ids is idempotent).
 *
 * @example Retry an append safely with your own ids
 * ```ts
 * import { type NewEvent, uuidv7 } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const events: NewEvent[] = [{ id: uuidv7(), type: "Paid", data: { amount: 5 } }];
 * await store.appendToStream("order-1", events);
 * await store.appendToStream("order-1", events); // a retry: nothing new is written
 * assert.equal(await store.streamVersion("order-1"), 1);
 * ```
 */
export type NewEvent<E extends Event = Event> = E & {
  /** The id to store the event under; a UUIDv7 is generated when absent. */
  readonly id?: string;
};

/**
 * An event as a store holds it: the domain event plus where and when.
 *
 * @example
 * ```ts
 * import type { RecordedEvent } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("order-1", [{ type: "Placed", data: { total: 10 } }]);
 * const [placed]: RecordedEvent[] = await store.readStream("order-1");
 * assert.equal(placed.streamId, "order-1");
 * assert.equal(placed.version, 1);
 * assert.ok(placed.timestamp instanceof Date);
 * ```
 */
export type RecordedEvent<E extends Event = Event> = E & {
  /** Unique in the store; UUIDv7 unless the writer chose one. */
  readonly id: string;
  /** The stream the event belongs to. */
  readonly streamId: string;
  /** 1-based position of the event within its stream. */
  readonly version: number;
  /**
   * The event's place in the global order: strictly increasing in the order
   * readers see events. Positions need not be consecutive (the PostgreSQL
   * and Deno KV stores skip numbers); what holds on every store is that no
   * event ever appears behind a position a reader has already passed, so a
   * checkpoint never misses one.
   */
  readonly position: number;
  /** When the store recorded the event. */
  readonly timestamp: Date;
  /** Metadata, always present on a recorded event (possibly empty). */
  readonly metadata: EventMetadata;
};

/**
 * Returns a copy of `event` whose metadata is `metadata` merged over the
 * event's own.
 *
 * @example Stamp an event with a correlation id
 * ```ts
 * import { withMetadata } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const event = withMetadata(
 *   { type: "MoneyDeposited", data: { amount: 5 } },
 *   { correlationId: "c-1" },
 * );
 * assert.equal(event.metadata?.correlationId, "c-1");
 * ```
 */
export function withMetadata<E extends Event>(
  event: E,
  metadata: EventMetadata,
): E & { readonly metadata: EventMetadata } {
  return { ...event, metadata: { ...event.metadata, ...metadata } };
}

/**
 * The metadata a follow-up written because of `event` should carry: the same
 * correlation id (or the event's id when it had none) and the event's id as
 * causation id. This is what lets a chain command → events → follow-up
 * command be walked back from the log.
 *
 * @example Continue a chain from an event
 * ```ts
 * import { causedBy } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const follow = causedBy({ id: "e-7", metadata: { correlationId: "c-1" } });
 * assert.deepEqual(follow, { correlationId: "c-1", causationId: "e-7" });
 * ```
 */
export function causedBy(
  event: { readonly id: string; readonly metadata?: EventMetadata },
): { correlationId: string; causationId: string } {
  return {
    correlationId: event.metadata?.correlationId ?? event.id,
    causationId: event.id,
  };
}

/**
 * Reads the correlation id of an event, if it has one.
 *
 * @example
 * ```ts
 * import { correlationIdOf } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.equal(correlationIdOf({ metadata: { correlationId: "c-1" } }), "c-1");
 * assert.equal(correlationIdOf({}), undefined);
 * ```
 */
export function correlationIdOf(
  event: { readonly metadata?: EventMetadata },
): string | undefined {
  return event.metadata?.correlationId;
}

/**
 * Reads the causation id of an event, if it has one.
 *
 * @example
 * ```ts
 * import { causationIdOf } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.equal(causationIdOf({ metadata: { causationId: "cmd-1" } }), "cmd-1");
 * ```
 */
export function causationIdOf(
  event: { readonly metadata?: EventMetadata },
): string | undefined {
  return event.metadata?.causationId;
}
