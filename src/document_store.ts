/**
 * The document store port: where document projections keep their documents
 * and positions, in the same database as the events. Each store has one
 * (`MemoryDocumentStore`, `KvDocumentStore`, `PostgresDocumentStore`,
 * `IndexedDbDocumentStore`); the contract suite in `./testing` checks them.
 *
 * @module
 */

import type { Event, RecordedEvent } from "./event.ts";
import type { DocumentProjection } from "./read_side/document_projection.ts";

/**
 * A document and its id, as {@linkcode DocumentStore.list} returns them.
 *
 * @example
 * ```ts
 * import type { ProjectionDocument } from "@verdict/verdict";
 *
 * const row: ProjectionDocument<{ balance: number }> = {
 *   id: "account-1",
 *   document: { balance: 10 },
 * };
 * ```
 */
export interface ProjectionDocument<D = unknown> {
  /** The document's id. */
  readonly id: string;
  /** The document. */
  readonly document: D;
}

/**
 * Options of {@linkcode DocumentStore.list}: a page of documents in id
 * order (UTF-16 code unit order, as JavaScript compares strings).
 *
 * @example Every document, page by page
 * ```ts
 * import type { ListDocumentsOptions, DocumentStore } from "@verdict/verdict";
 *
 * async function* everyDocument(documents: DocumentStore, projection: string) {
 *   let options: ListDocumentsOptions = { limit: 100 };
 *   while (true) {
 *     const page = await documents.list(projection, options);
 *     yield* page;
 *     if (page.length < 100) return;
 *     options = { after: page[page.length - 1].id, limit: 100 };
 *   }
 * }
 * ```
 */
export interface ListDocumentsOptions {
  /** Only documents whose id sorts after this one. */
  readonly after?: string;
  /** At most this many documents (default: all). */
  readonly limit?: number;
}

/**
 * Where document projections keep their documents: the read side of an
 * inline projection, and the whole of an async one. Each store has one in
 * the same database as its events (`MemoryDocumentStore`,
 * `KvDocumentStore`, `PostgresDocumentStore`,
 * `IndexedDbDocumentStore`); the contract suite in `./testing` checks
 * them.
 *
 * @example Read an inline projection's documents
 * ```ts
 * import type { DocumentProjection } from "@verdict/verdict";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const counts: DocumentProjection<{ type: "Clicked"; data: null }, number> = {
 *   name: "clicks",
 *   documentId: (event) => event.streamId,
 *   evolve: (count) => (count ?? 0) + 1,
 * };
 * const documents = new MemoryDocumentStore();
 * const store = new MemoryEventStore({
 *   inlineProjections: { store: documents, projections: [counts] },
 * });
 * await store.appendToStream("button-1", [{ type: "Clicked", data: null }]);
 * assert.equal(await documents.get("clicks", "button-1"), 1);
 * ```
 */
export interface DocumentStore {
  /** A document of a projection, `undefined` when there is none. */
  get<D = unknown>(projection: string, id: string): Promise<D | undefined>;

  /** A projection's documents in id order. */
  list<D = unknown>(
    projection: string,
    options?: ListDocumentsOptions,
  ): Promise<ProjectionDocument<D>[]>;

  /**
   * The global position of the last event {@linkcode DocumentStore.apply}
   * applied for the projection (0 when none).
   */
  position(projection: string): Promise<number>;

  /**
   * Applies events, in global order, to the projection's documents and
   * moves its position to the last event's, in one transaction. Events at
   * or before the current position are skipped, so a batch delivered twice
   * changes nothing the second time. If `evolve` throws, nothing changes.
   */
  apply<E extends Event = Event>(
    projection: DocumentProjection<E>,
    events: readonly RecordedEvent<E>[],
  ): Promise<void>;

  /** Deletes every document of the projection and moves its position back to 0. */
  reset(projection: string): Promise<void>;

  /** Releases the store's resources. */
  close(): Promise<void>;
}

/**
 * The `inlineProjections` option of every event store: the projections to
 * run inside each append's transaction, and the store's document store
 * (in the same database) that keeps their documents.
 *
 * @example
 * ```ts
 * import type { InlineProjections } from "@verdict/verdict";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 *
 * const inline: InlineProjections<MemoryDocumentStore> = {
 *   store: new MemoryDocumentStore(),
 *   projections: [{ name: "streams", documentId: (e) => e.streamId, evolve: (_, e) => e.version }],
 * };
 * const store = new MemoryEventStore({ inlineProjections: inline });
 * ```
 */
export interface InlineProjections<S extends DocumentStore = DocumentStore> {
  /** Where the documents are written: the document store of the same database. */
  readonly store: S;
  /** The projections, each with a distinct name. */
  // deno-lint-ignore no-explicit-any
  readonly projections: readonly DocumentProjection<any, any>[];
}

/**
 * The old name of {@linkcode DocumentStore}.
 *
 * @deprecated Use {@linkcode DocumentStore}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import type { DocumentStore, ProjectionStore } from "@verdict/verdict";
 *
 * const same = (store: ProjectionStore): DocumentStore => store;
 * ```
 */
export type ProjectionStore = DocumentStore;
