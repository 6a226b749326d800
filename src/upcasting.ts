/**
 * Upcasting: old shapes of events turned into the current one as they are
 * read, so deciders and projections only ever see the current shape.
 *
 * @module
 */

import { VerdictError } from "./errors.ts";
import type { Event, EventMetadata, NewEvent, RecordedEvent } from "./event.ts";
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
} from "./event_store.ts";

/**
 * Turns one event type from one schema version into the next.
 *
 * @example Version 2 of MoneyDeposited names the currency
 * ```ts
 * import type { Upcaster } from "@verdict/verdict";
 *
 * const addCurrency: Upcaster = {
 *   type: "MoneyDeposited",
 *   from: 1,
 *   upcast: (data) => ({ ...(data as object), currency: "EUR" }),
 * };
 * ```
 */
export interface Upcaster {
  /** The event type it applies to. */
  readonly type: string;
  /** The schema version it reads; it produces version `from + 1`. */
  readonly from: number;
  /** Returns the data in the next version's shape. */
  upcast(data: unknown, event: RecordedEvent): unknown;
}

/**
 * A stored event has no path to the current schema version of its type: an
 * upcaster is missing, or the event was written by newer code.
 *
 * @example
 * ```ts
 * import { UpcastError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new UpcastError("MoneyDeposited", 42, 1, 3, 2);
 * assert.match(error.message, /no upcaster from version 2/);
 * ```
 */
export class UpcastError extends VerdictError {
  /** The event's type. */
  readonly type: string;
  /** The event's global position. */
  readonly position: number;
  /** The schema version it was stored with. */
  readonly storedVersion: number;
  /** The current schema version of the type. */
  readonly currentVersion: number;
  /** The version at which the chain broke. */
  readonly missingFrom: number;

  /** Creates the error for an event and where its chain breaks. */
  constructor(
    type: string,
    position: number,
    storedVersion: number,
    currentVersion: number,
    missingFrom: number,
  ) {
    super(
      storedVersion > currentVersion
        ? `Event ${type} at position ${position} has schema version ${storedVersion}, newer than this code's ${currentVersion}: deploy the newer code`
        : `Event ${type} at position ${position} has schema version ${storedVersion} but the current one is ${currentVersion}, and there is no upcaster from version ${missingFrom}`,
    );
    this.name = "UpcastError";
    this.type = type;
    this.position = position;
    this.storedVersion = storedVersion;
    this.currentVersion = currentVersion;
    this.missingFrom = missingFrom;
  }
}

/**
 * Options of {@linkcode withUpcasting}.
 *
 * @example
 * ```ts
 * import type { UpcastingOptions } from "@verdict/verdict";
 *
 * const options: UpcastingOptions = {
 *   currentVersions: { MoneyDeposited: 2 },
 *   upcasters: [{ type: "MoneyDeposited", from: 1, upcast: (data) => ({ ...(data as object), currency: "EUR" }) }],
 * };
 * ```
 */
export interface UpcastingOptions {
  /** The current schema version of each event type that has more than one (others are 1). */
  readonly currentVersions: Readonly<Record<string, number>>;
  /** The upcasters, one per type and version step. */
  readonly upcasters: readonly Upcaster[];
}

/**
 * The schema version an event was written with (`metadata.schemaVersion`,
 * default 1).
 *
 * @example
 * ```ts
 * import { schemaVersionOf } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.equal(schemaVersionOf({ metadata: { schemaVersion: 3 } }), 3);
 * assert.equal(schemaVersionOf({}), 1);
 * ```
 */
export function schemaVersionOf(event: { readonly metadata?: EventMetadata }): number {
  const version = event.metadata?.schemaVersion;
  return typeof version === "number" ? version : 1;
}

/**
 * Wraps any event store so that events are written with their type's
 * current schema version (in `metadata.schemaVersion`) and read in the
 * current shape: an event stored at version 1 of a type now at version 3
 * goes through the 1→2 and 2→3 upcasters. An event with no path to the
 * current version raises an {@linkcode UpcastError} — it is never passed
 * through in an old shape. Works with every store, as it only wraps the
 * `EventStore` port.
 *
 * @example Read an old event in the current shape
 * ```ts
 * import { withUpcasting } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const raw = new MemoryEventStore();
 * await raw.appendToStream("account-1", [{ type: "MoneyDeposited", data: { amount: 5 } }]);
 *
 * const store = withUpcasting(raw, {
 *   currentVersions: { MoneyDeposited: 2 },
 *   upcasters: [{
 *     type: "MoneyDeposited",
 *     from: 1,
 *     upcast: (data) => ({ ...(data as { amount: number }), currency: "EUR" }),
 *   }],
 * });
 * const [event] = await store.readStream("account-1");
 * assert.deepEqual(event.data, { amount: 5, currency: "EUR" });
 * assert.equal(event.metadata.schemaVersion, 2);
 * ```
 */
export function withUpcasting(store: EventStore, options: UpcastingOptions): EventStore {
  const steps = new Map<string, Upcaster>();
  for (const upcaster of options.upcasters) {
    const key = `${upcaster.type}@${upcaster.from}`;
    if (steps.has(key)) {
      throw new TypeError(
        `Two upcasters for ${upcaster.type} from version ${upcaster.from}`,
      );
    }
    steps.set(key, upcaster);
  }
  // Own keys only: a type named "constructor" or "toString" must not find
  // Object.prototype's function (stamped on the event, it cannot be stored).
  const versions = options.currentVersions;
  const current = (type: string) =>
    Object.hasOwn(versions, type) ? versions[type] ?? 1 : 1;

  const upcast = <E extends Event>(event: RecordedEvent<E>): RecordedEvent<E> => {
    const target = current(event.type);
    let version = schemaVersionOf(event);
    if (version === target) return event;
    if (version > target) {
      throw new UpcastError(event.type, event.position, version, target, version);
    }
    let data: unknown = event.data;
    const stored = version;
    while (version < target) {
      const step = steps.get(`${event.type}@${version}`);
      if (!step) {
        throw new UpcastError(event.type, event.position, stored, target, version);
      }
      data = step.upcast(data, event as RecordedEvent);
      version++;
    }
    return {
      ...event,
      data,
      metadata: { ...event.metadata, schemaVersion: version },
    } as RecordedEvent<E>;
  };
  const stamp = <E extends Event>(events: readonly NewEvent<E>[]): NewEvent<E>[] =>
    events.map((event) =>
      event.metadata?.schemaVersion !== undefined ? event : {
        ...event,
        metadata: { ...event.metadata, schemaVersion: current(event.type) },
      }
    );

  const wrapped: EventStore = {
    commandLog: store.commandLog,
    async appendToStream<E extends Event>(
      streamId: string,
      events: readonly NewEvent<E>[],
      appendOptions?: AppendOptions,
    ): Promise<AppendResult<E>> {
      const result = await store.appendToStream(streamId, stamp(events), appendOptions);
      return { ...result, events: result.events.map(upcast) };
    },
    async appendToStreams<E extends Event>(
      appends: readonly StreamAppend<E>[],
      appendOptions?: Omit<AppendOptions, "expectedVersion">,
    ): Promise<AppendResult<E>[]> {
      const results = await store.appendToStreams(
        appends.map((append) => ({ ...append, events: stamp(append.events) })),
        appendOptions,
      );
      return results.map((result) => ({ ...result, events: result.events.map(upcast) }));
    },
    async readStream<E extends Event>(streamId: string, readOptions?: ReadStreamOptions) {
      return (await store.readStream<E>(streamId, readOptions)).map(upcast);
    },
    async readAll<E extends Event>(readOptions?: ReadAllOptions) {
      return (await store.readAll<E>(readOptions)).map(upcast);
    },
    streamVersion: (streamId) => store.streamVersion(streamId),
    close: () => store.close(),
  };
  // Reads by id are how a command dispatched again answers with its first
  // outcome: kept, and upcast like every read.
  const byId = store.readEvents;
  if (typeof byId === "function") {
    wrapped.readEvents = async <E extends Event>(ids: readonly string[]) =>
      (await byId.call(store, ids) as RecordedEvent<E>[]).map(upcast);
  }
  const notifier = store as Partial<
    { waitForEvents(p: number, s: AbortSignal): Promise<void> }
  >;
  if (typeof notifier.waitForEvents === "function") {
    Object.assign(wrapped, {
      waitForEvents: (position: number, signal: AbortSignal) =>
        notifier.waitForEvents!(position, signal),
    });
  }
  return wrapped;
}
