/**
 * For store authors: how every store plans document projections the same
 * way, and checks what it is given.
 *
 * @module
 */

import type { Event, RecordedEvent } from "../event.ts";
import type { StreamAppend } from "../event_store.ts";
import type { ListDocumentsOptions } from "../document_store.ts";
import type {
  DocumentProjection,
  ProjectedEvent,
} from "../read_side/document_projection.ts";

/**
 * A projection's document, by projection name and document id.
 *
 * @example
 * ```ts
 * import type { DocumentKey } from "@verdict/verdict/store-kit";
 *
 * const key: DocumentKey = { projection: "balances", id: "account-1" };
 * ```
 */
export interface DocumentKey {
  /** The projection's name. */
  readonly projection: string;
  /** The document's id. */
  readonly id: string;
}

/**
 * A document's new value after a batch of events; `document` is
 * `undefined` when the document is to be deleted.
 *
 * @example
 * ```ts
 * import type { DocumentChange } from "@verdict/verdict/store-kit";
 *
 * const change: DocumentChange = { projection: "balances", id: "account-1", document: { balance: 5 } };
 * ```
 */
export interface DocumentChange extends DocumentKey {
  /** The new document, or `undefined` to delete it. */
  readonly document: unknown;
}

/**
 * How a store applies document projections to a batch of events, in two
 * steps around its own reads: `keys` are the documents to read (in the
 * transaction), and `evolve` turns what was read into the changes to write.
 *
 * @example
 * ```ts
 * import { planDocuments } from "@verdict/verdict/store-kit";
 *
 * const plan = planDocuments([{
 *   name: "counts",
 *   documentId: (event) => event.streamId,
 *   evolve: (count: number | undefined) => (count ?? 0) + 1,
 * }], []);
 * const changes = plan.evolve(() => undefined);
 * ```
 */
export interface DocumentPlan {
  /** The documents the events change, each once, in first-touch order. */
  readonly keys: readonly DocumentKey[];
  /**
   * Runs every projection over the events, starting each document from
   * `current` (its stored value, `undefined` when none), and returns each
   * touched document's final value, in the order of `keys`.
   */
  evolve(current: (key: DocumentKey, index: number) => unknown): DocumentChange[];
}

/**
 * Plans the document changes a batch of events makes: which documents to
 * read, then (given their stored values) what to write. Stores use it so
 * every store projects the same way; `evolve` may be called again when a
 * store retries its commit.
 *
 * @throws {TypeError} when `documentId` returns something other than a
 * non-empty string, an array of them, or `undefined`.
 *
 * @example One event, two documents
 * ```ts
 * import { type DocumentProjection } from "@verdict/verdict";
 * import { planDocuments } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * type Transfer = { type: "Transferred"; data: { from: string; to: string; amount: number } };
 * const balances: DocumentProjection<Transfer, number> = {
 *   name: "balances",
 *   documentId: (event) => [event.data.from, event.data.to],
 *   evolve: (balance, event, id) =>
 *     (balance ?? 0) + (id === event.data.from ? -event.data.amount : event.data.amount),
 * };
 * const plan = planDocuments([balances], [{
 *   id: "e1", type: "Transferred", data: { from: "a", to: "b", amount: 5 },
 *   metadata: {}, streamId: "transfer-1", version: 1, timestamp: new Date(),
 * }]);
 * assert.deepEqual(plan.keys.map((key) => key.id), ["a", "b"]);
 * const stored = new Map([["a", 10]]);
 * assert.deepEqual(plan.evolve((key) => stored.get(key.id)).map((c) => c.document), [5, 5]);
 * ```
 */
export function planDocuments(
  projections: readonly DocumentProjection[],
  events: readonly ProjectedEvent[],
): DocumentPlan {
  const keys: DocumentKey[] = [];
  const slots = new Map<string, number>();
  // For each (event, projection) pair that touches documents: the slots.
  const touches: {
    event: ProjectedEvent;
    projection: DocumentProjection;
    slots: number[];
  }[] = [];
  for (const event of events) {
    for (const projection of projections) {
      if (projection.eventTypes && !projection.eventTypes.includes(event.type)) continue;
      const ids = documentIdsOf(projection, event);
      if (ids.length === 0) continue;
      const eventSlots: number[] = [];
      for (const id of ids) {
        const slotKey = `${projection.name}\u0000${id}`;
        let slot = slots.get(slotKey);
        if (slot === undefined) {
          slot = keys.length;
          slots.set(slotKey, slot);
          keys.push({ projection: projection.name, id });
        }
        eventSlots.push(slot);
      }
      touches.push({ event, projection, slots: eventSlots });
    }
  }
  return {
    keys,
    evolve(current) {
      const documents = keys.map((key, index) => current(key, index));
      for (const { event, projection, slots } of touches) {
        for (const slot of slots) {
          documents[slot] = projection.evolve(documents[slot], event, keys[slot].id);
        }
      }
      return keys.map((key, index) => ({ ...key, document: documents[index] }));
    },
  };
}

function documentIdsOf(projection: DocumentProjection, event: ProjectedEvent): string[] {
  const ids = projection.documentId(event);
  if (ids === undefined) return [];
  const list = typeof ids === "string" ? [ids] : ids;
  if (!Array.isArray(list) || list.some((id) => typeof id !== "string" || id === "")) {
    throw new TypeError(
      `Projection "${projection.name}": documentId must return a non-empty string, an array of them, or undefined; got ${
        JSON.stringify(ids)
      } for event ${event.id} (${event.type})`,
    );
  }
  return [...new Set(list)];
}

/**
 * Throws a `TypeError` unless every projection has a non-empty name, a
 * `documentId` and an `evolve` function, and no two share a name.
 *
 * @example
 * ```ts
 * import { assertValidProjections } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const noop = { name: "noop", documentId: () => undefined, evolve: () => undefined };
 * assertValidProjections([noop]);
 * assert.throws(() => assertValidProjections([noop, noop]), TypeError);
 * ```
 */
export function assertValidProjections(projections: readonly DocumentProjection[]): void {
  if (!Array.isArray(projections)) {
    throw new TypeError("Projections must be an array of document projections");
  }
  const names = new Set<string>();
  for (const projection of projections) assertValidProjection(projection, names);
}

function assertValidProjection(
  projection: DocumentProjection,
  names?: Set<string>,
): void {
  const name = projection?.name;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `A document projection needs a non-empty name, got ${JSON.stringify(name)}`,
    );
  }
  if (
    typeof projection.documentId !== "function" || typeof projection.evolve !== "function"
  ) {
    throw new TypeError(`Projection "${name}" needs documentId and evolve functions`);
  }
  if (names?.has(name)) throw new TypeError(`Two projections are named "${name}"`);
  names?.add(name);
}

/**
 * Throws a `TypeError` unless `projection` is a non-empty string, and `id`
 * (when given) too: the names a document store accepts.
 *
 * @example
 * ```ts
 * import { assertValidDocumentKey } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidDocumentKey("balances", "account-1");
 * assert.throws(() => assertValidDocumentKey("balances", ""), TypeError);
 * ```
 */
export function assertValidDocumentKey(projection: unknown, id?: unknown): void {
  if (typeof projection !== "string" || projection === "") {
    throw new TypeError(
      `A projection name must be a non-empty string, got ${JSON.stringify(projection)}`,
    );
  }
  if (arguments.length > 1 && (typeof id !== "string" || id === "")) {
    throw new TypeError(
      `A document id must be a non-empty string, got ${JSON.stringify(id)}`,
    );
  }
}

/**
 * Throws unless the options of {@linkcode DocumentStore.list} are valid:
 * `after` a string, `limit` an integer ≥ 0.
 *
 * @example
 * ```ts
 * import { assertValidListDocumentsOptions } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidListDocumentsOptions({ after: "account-1", limit: 10 });
 * assert.throws(() => assertValidListDocumentsOptions({ limit: -1 }), RangeError);
 * ```
 */
export function assertValidListDocumentsOptions(options: ListDocumentsOptions): void {
  if (options.after !== undefined && typeof options.after !== "string") {
    throw new TypeError(
      `after must be a document id, got ${JSON.stringify(options.after)}`,
    );
  }
  const limit = options.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new RangeError(`limit must be an integer >= 0, got ${limit}`);
  }
}

/**
 * Checks a call of {@linkcode DocumentStore.apply} and returns the events
 * after `position`: the ones still to apply.
 *
 * @throws {TypeError} for an invalid projection, or events not in strictly
 * increasing global order.
 *
 * @example
 * ```ts
 * import { type RecordedEvent } from "@verdict/verdict";
 * import { eventsToApply } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const at = (position: number) =>
 *   ({ id: `e${position}`, type: "T", data: null, metadata: {}, streamId: "s", version: position, position, timestamp: new Date() }) as RecordedEvent;
 * const noop = { name: "noop", documentId: () => undefined, evolve: () => undefined };
 * assert.deepEqual(eventsToApply(noop, [at(1), at(2), at(3)], 2).map((e) => e.position), [3]);
 * ```
 */
export function eventsToApply<E extends Event>(
  projection: DocumentProjection<E>,
  events: readonly RecordedEvent<E>[],
  position: number,
): RecordedEvent<E>[] {
  assertValidProjection(projection as DocumentProjection);
  if (!Array.isArray(events)) throw new TypeError("Events must be an array");
  let previous = -Infinity;
  for (const event of events) {
    if (!(event?.position > previous)) {
      throw new TypeError(
        `Events must be applied in strictly increasing position order: ${event?.position} after ${previous}`,
      );
    }
    previous = event.position;
  }
  return events.filter((event) => event.position > position);
}

/**
 * The events of an append as its inline projections see them, before
 * anything is written: `ids` are the event ids the store fixed per stream,
 * `versions` each stream's version before the append.
 *
 * @example
 * ```ts
 * import { projectedEvents } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const events = projectedEvents(
 *   [{ streamId: "a", events: [{ type: "T", data: 1 }, { type: "T", data: 2 }] }],
 *   [["id-1", "id-2"]],
 *   [4],
 *   Date.UTC(2026, 0, 1),
 * );
 * assert.deepEqual(events.map((e) => e.version), [5, 6]);
 * ```
 */
export function projectedEvents(
  appends: readonly StreamAppend[],
  ids: readonly (readonly string[])[],
  versions: readonly number[],
  timestamp: number,
): ProjectedEvent[] {
  const events: ProjectedEvent[] = [];
  appends.forEach((append, s) =>
    append.events.forEach((event, e) =>
      events.push({
        id: ids[s][e],
        type: event.type,
        data: event.data,
        metadata: event.metadata ?? {},
        streamId: append.streamId,
        version: versions[s] + e + 1,
        timestamp: new Date(timestamp),
      })
    )
  );
  return events;
}

/**
 * Strips the global position from recorded events for an inline projection
 * (see {@linkcode ProjectedEvent}): every store hands inline projections
 * the same shape.
 *
 * @example
 * ```ts
 * import { type RecordedEvent } from "@verdict/verdict";
 * import { toProjectedEvent } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const event = { id: "e1", type: "T", data: 1, metadata: {}, streamId: "s", version: 1, position: 9, timestamp: new Date(0) } as RecordedEvent;
 * assert.equal("position" in toProjectedEvent(event), false);
 * ```
 */
export function toProjectedEvent<E extends Event>(
  event: RecordedEvent<E> | ProjectedEvent<E>,
): ProjectedEvent<E> {
  const { position: _position, ...projected } = event as RecordedEvent<E>;
  return projected as ProjectedEvent<E>;
}

/**
 * Checks the arguments of a document store's `list` as every store does,
 * and says whether there is anything to read (a `limit` of 0 reads
 * nothing).
 *
 * @throws {TypeError} for a bad projection name or options (see
 * {@linkcode assertValidDocumentKey}, {@linkcode assertValidListDocumentsOptions}).
 *
 * @example
 * ```ts
 * import { checkListDocuments } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkListDocuments("balances", { limit: 10 }), true);
 * assert.equal(checkListDocuments("balances", { limit: 0 }), false);
 * assert.throws(() => checkListDocuments("", {}), TypeError);
 * ```
 */
export function checkListDocuments(
  projection: unknown,
  options: ListDocumentsOptions,
): boolean {
  assertValidDocumentKey(projection);
  assertValidListDocumentsOptions(options);
  return options.limit !== 0;
}
