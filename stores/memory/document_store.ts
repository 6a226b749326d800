/**
 * The in-memory document store: documents of document projections.
 *
 * @module
 */

import {
  type DocumentProjection,
  type DocumentStore,
  type Event,
  type ListDocumentsOptions,
  type ProjectedEvent,
  type ProjectionDocument,
  type RecordedEvent,
  StoreClosedError,
} from "../../mod.ts";
import {
  assertValidDocumentKey,
  checkListDocuments,
  eventsToApply,
  planDocuments,
} from "../../src/store_kit/mod.ts";
import { cloneData } from "./clone.ts";
import { settle } from "./settle.ts";

/**
 * Documents of document projections in this process's memory, copied in
 * and out. Give it to a `MemoryEventStore` as `inlineProjections.store` to
 * keep projections inline, or to a `DocumentProjectionRunner` for async ones.
 *
 * @example An inline projection, read back
 * ```ts
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const documents = new MemoryDocumentStore();
 * const store = new MemoryEventStore({
 *   inlineProjections: {
 *     store: documents,
 *     projections: [{
 *       name: "owners",
 *       eventTypes: ["Opened"],
 *       documentId: (event) => event.streamId,
 *       evolve: (_, event) => event.data,
 *     }],
 *   },
 * });
 * await store.appendToStream("account-1", [{ type: "Opened", data: { owner: "Ada" } }]);
 * assert.deepEqual(await documents.get("owners", "account-1"), { owner: "Ada" });
 * ```
 */
export class MemoryDocumentStore implements DocumentStore {
  readonly #documents = new Map<string, Map<string, unknown>>();
  readonly #positions = new Map<string, number>();
  #closed = false;

  /** A document of a projection, `undefined` when there is none. */
  get<D = unknown>(projection: string, id: string): Promise<D | undefined> {
    return settle(() => {
      this.#assertOpen();
      assertValidDocumentKey(projection, id);
      return cloneData(this.#documents.get(projection)?.get(id)) as D | undefined;
    });
  }

  /** A projection's documents in id order. */
  list<D = unknown>(
    projection: string,
    options: ListDocumentsOptions = {},
  ): Promise<ProjectionDocument<D>[]> {
    return settle(() => {
      this.#assertOpen();
      if (!checkListDocuments(projection, options)) return [];
      const documents = this.#documents.get(projection) ?? new Map();
      const ids = [...documents.keys()]
        .filter((id) => options.after === undefined || id > options.after)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, options.limit ?? Infinity);
      return ids.map((id) => ({ id, document: cloneData(documents.get(id)) as D }));
    });
  }

  /** The position of the last event `apply` applied for the projection. */
  position(projection: string): Promise<number> {
    return settle(() => {
      this.#assertOpen();
      assertValidDocumentKey(projection);
      return this.#positions.get(projection) ?? 0;
    });
  }

  /** Applies events to the projection's documents and moves its position, atomically. */
  apply<E extends Event = Event>(
    projection: DocumentProjection<E>,
    events: readonly RecordedEvent<E>[],
  ): Promise<void> {
    return settle(() => {
      this.#assertOpen();
      const fresh = eventsToApply(
        projection,
        events,
        this.#positions.get(projection.name) ?? 0,
      );
      if (fresh.length === 0) return;
      const commit = this.prepare([projection as DocumentProjection], fresh);
      commit();
      this.#positions.set(projection.name, fresh[fresh.length - 1].position);
    });
  }

  /** Deletes the projection's documents and moves its position back to 0. */
  reset(projection: string): Promise<void> {
    return settle(() => {
      this.#assertOpen();
      assertValidDocumentKey(projection);
      this.#documents.delete(projection);
      this.#positions.delete(projection);
    });
  }

  /**
   * Runs the projections over the events without writing anything, and
   * returns what writes the result: the memory event store calls it before
   * its first write, so a throwing `evolve` leaves everything untouched.
   *
   * @ignore
   */
  prepare(
    projections: readonly DocumentProjection[],
    events: readonly ProjectedEvent[],
  ): () => void {
    this.#assertOpen();
    // The projections were checked where they came in: by the event store's
    // constructor, or by `eventsToApply` in `apply`. Not again per append.
    const changes = planDocuments(projections, events).evolve((key) =>
      cloneData(this.#documents.get(key.projection)?.get(key.id))
    ).map((change) => ({ ...change, document: cloneData(change.document) }));
    return () => {
      for (const { projection, id, document } of changes) {
        let documents = this.#documents.get(projection);
        if (document === undefined) {
          documents?.delete(id);
          continue;
        }
        if (!documents) this.#documents.set(projection, documents = new Map());
        documents.set(id, document);
      }
    };
  }

  /** Closes the store. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("memory document store");
  }
}

/**
 * The old name of {@linkcode MemoryDocumentStore}.
 *
 * @deprecated Use {@linkcode MemoryDocumentStore}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import { MemoryDocumentStore, MemoryProjectionStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MemoryProjectionStore, MemoryDocumentStore);
 * ```
 */
export const MemoryProjectionStore: typeof MemoryDocumentStore = MemoryDocumentStore;
/** The old name of {@linkcode MemoryDocumentStore}. @deprecated Use {@linkcode MemoryDocumentStore}. */
export type MemoryProjectionStore = MemoryDocumentStore;
