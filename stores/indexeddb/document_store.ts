/**
 * The IndexedDB document store: documents of document projections, in
 * the same database as the events.
 *
 * @module
 */

import type { IDBPObjectStore, StoreNames } from "idb";
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
import type { IndexedDbStoreOptions } from "./command_log.ts";
import {
  abortQuietly,
  translateStorageError,
  VerdictDatabase,
  type VerdictSchema,
} from "./database.ts";

type Documents = IDBPObjectStore<
  VerdictSchema,
  ArrayLike<StoreNames<VerdictSchema>>,
  "documents",
  "readwrite"
>;

/** Every key of one projection's documents: `[projection, <any id>]`. */
function projectionRange(projection: string, after?: string): IDBKeyRange {
  return IDBKeyRange.bound(
    after === undefined ? [projection] : [projection, after],
    [projection, []],
    after !== undefined,
  );
}

/**
 * Documents of document projections in IndexedDB (object stores
 * `documents` and `projections`). Give it to an `IndexedDbEventStore` of
 * the same `VerdictDatabase` as `inlineProjections.store`: an append's
 * readwrite transaction then also reads, evolves and writes the documents,
 * so the read model commits with the events or not at all. An async
 * `apply` writes documents and position in one transaction.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import {
 *   IndexedDbEventStore,
 *   IndexedDbDocumentStore,
 *   VerdictDatabase,
 * } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const database = new VerdictDatabase("example-projections");
 * const documents = new IndexedDbDocumentStore({ database });
 * const store = new IndexedDbEventStore({
 *   database,
 *   inlineProjections: {
 *     store: documents,
 *     projections: [{
 *       name: "counts",
 *       documentId: (event) => event.streamId,
 *       evolve: (count: number | undefined) => (count ?? 0) + 1,
 *     }],
 *   },
 * });
 * await store.appendToStream("button-1", [{ type: "Clicked", data: null }]);
 * assert.equal(await documents.get("counts", "button-1"), 1);
 * await store.close();
 * ```
 */
export class IndexedDbDocumentStore implements DocumentStore {
  readonly #database: VerdictDatabase;
  #closed = false;

  /** Creates a document store; the database opens on first use. */
  constructor(options: IndexedDbStoreOptions = {}) {
    this.#database = options.database ?? new VerdictDatabase("verdict");
  }

  /** Whether this store writes to `database` (so an event store there can commit with it). */
  sharesDatabase(database: VerdictDatabase): boolean {
    return database === this.#database;
  }

  /** A document of a projection, `undefined` when there is none. */
  async get<D = unknown>(projection: string, id: string): Promise<D | undefined> {
    this.#assertOpen();
    assertValidDocumentKey(projection, id);
    const db = await this.#database.open();
    return (await db.get("documents", [projection, id]))?.document as D | undefined;
  }

  /** A projection's documents in id order (UTF-16 code unit order, as IndexedDB sorts keys). */
  async list<D = unknown>(
    projection: string,
    options: ListDocumentsOptions = {},
  ): Promise<ProjectionDocument<D>[]> {
    this.#assertOpen();
    if (!checkListDocuments(projection, options)) return [];
    const db = await this.#database.open();
    const rows = await db.getAll(
      "documents",
      projectionRange(projection, options.after),
      options.limit,
    );
    return rows.map((row) => ({ id: row.id, document: row.document as D }));
  }

  /** The position of the last event `apply` applied for the projection. */
  async position(projection: string): Promise<number> {
    this.#assertOpen();
    assertValidDocumentKey(projection);
    const db = await this.#database.open();
    return (await db.get("projections", projection))?.position ?? 0;
  }

  /** Applies events to the projection's documents and moves its position, in one transaction. */
  async apply<E extends Event = Event>(
    projection: DocumentProjection<E>,
    events: readonly RecordedEvent<E>[],
  ): Promise<void> {
    this.#assertOpen();
    eventsToApply(projection, events, 0);
    if (events.length === 0) return;
    const db = await this.#database.open();
    const tx = db.transaction(["documents", "projections"], "readwrite", {
      durability: "strict",
    });
    try {
      const stored = await tx.objectStore("projections").get(projection.name);
      const fresh = eventsToApply(projection, events, stored?.position ?? 0);
      if (fresh.length > 0) {
        await this.projectInTransaction(
          tx.objectStore("documents"),
          [projection as DocumentProjection],
          fresh,
        );
        await tx.objectStore("projections").put({
          name: projection.name,
          position: fresh[fresh.length - 1].position,
        });
      }
      await tx.done;
    } catch (error) {
      await abortQuietly(tx);
      throw translateStorageError(this.#database.name, error);
    }
  }

  /**
   * Reads, evolves and writes the documents the events change, inside the
   * caller's readwrite transaction (nothing but IndexedDB is awaited): how
   * an `IndexedDbEventStore` keeps inline projections.
   *
   * @ignore
   */
  async projectInTransaction(
    documents: Documents,
    projections: readonly DocumentProjection[],
    events: readonly ProjectedEvent[],
  ): Promise<void> {
    this.#assertOpen();
    const plan = planDocuments(projections, events);
    if (plan.keys.length === 0) return;
    const rows = await Promise.all(
      plan.keys.map((key) => documents.get([key.projection, key.id])),
    );
    const changes = plan.evolve((_, index) => rows[index]?.document);
    await Promise.all(
      changes.map((change) =>
        change.document === undefined
          ? documents.delete([change.projection, change.id])
          : documents.put({
            projection: change.projection,
            id: change.id,
            document: change.document,
          })
      ),
    );
  }

  /** Deletes the projection's documents and its position, in one transaction. */
  async reset(projection: string): Promise<void> {
    this.#assertOpen();
    assertValidDocumentKey(projection);
    const db = await this.#database.open();
    const tx = db.transaction(["documents", "projections"], "readwrite", {
      durability: "strict",
    });
    try {
      await Promise.all([
        tx.objectStore("documents").delete(projectionRange(projection)),
        tx.objectStore("projections").delete(projection),
      ]);
      await tx.done;
    } catch (error) {
      await abortQuietly(tx);
      throw translateStorageError(this.#database.name, error);
    }
  }

  /** Closes the store and its database connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#database.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("IndexedDB document store");
  }
}

/**
 * The old name of {@linkcode IndexedDbDocumentStore}.
 *
 * @deprecated Use {@linkcode IndexedDbDocumentStore}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import { IndexedDbDocumentStore, IndexedDbProjectionStore } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * assert.equal(IndexedDbProjectionStore, IndexedDbDocumentStore);
 * ```
 */
export const IndexedDbProjectionStore: typeof IndexedDbDocumentStore =
  IndexedDbDocumentStore;
/** The old name of {@linkcode IndexedDbDocumentStore}. @deprecated Use {@linkcode IndexedDbDocumentStore}. */
export type IndexedDbProjectionStore = IndexedDbDocumentStore;
