/**
 * Read models for the browser on Dexie: a {@linkcode DocumentStore} whose
 * documents UI code renders with Dexie's `liveQuery`, and
 * {@linkcode syncProjections}, which keeps them up to date with what a
 * `SyncClient` sees — the server's events and the pending commands' alike.
 *
 * @example Render balances live
 * ```ts
 * import "fake-indexeddb/auto"; // in a browser, IndexedDB is simply there
 * import { liveQuery } from "dexie";
 * import { DexieDocumentStore } from "@verdict/verdict/dexie";
 *
 * const store = new DexieDocumentStore({ name: "example-read-models" });
 * const subscription = liveQuery(() => store.list("balances")).subscribe((documents) => {
 *   console.log(documents.map(({ id, document }) => `${id}: ${JSON.stringify(document)}`));
 * });
 * subscription.unsubscribe();
 * await store.close();
 * ```
 *
 * @module
 */

import { Dexie, type Table } from "dexie";
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
import type { LocalEvent, SyncClient } from "../../browser/sync.ts";

interface DocumentRow {
  projection: string;
  id: string;
  document: unknown;
}

interface ProjectionRow {
  name: string;
  position: number;
  /** For a synced view: the documents pending events changed, last time. */
  overlaid?: string[];
}

/**
 * Options of {@linkcode DexieDocumentStore}.
 *
 * @example
 * ```ts
 * import type { DexieDocumentStoreOptions } from "@verdict/verdict/dexie";
 *
 * const options: DexieDocumentStoreOptions = { name: "bank-read-models" };
 * ```
 */
export interface DexieDocumentStoreOptions {
  /** The IndexedDB database's name (default `"verdict-documents"`). */
  readonly name?: string;
  /** The IndexedDB to use (default the global one), e.g. another realm's. */
  readonly indexedDB?: IDBFactory;
  /** The `IDBKeyRange` that goes with `indexedDB`. */
  readonly IDBKeyRange?: typeof IDBKeyRange;
}

/**
 * A document store on Dexie: documents keyed by projection and id,
 * positions beside them, each `apply` one transaction. Every read goes
 * through Dexie, so `liveQuery(() => store.list("balances"))` re-runs when
 * an apply (in this tab or another) changes the documents it read.
 *
 * @example Apply events, read a document
 * ```ts
 * import "fake-indexeddb/auto";
 * import type { DocumentProjection, RecordedEvent } from "@verdict/verdict";
 * import { DexieDocumentStore } from "@verdict/verdict/dexie";
 * import assert from "node:assert/strict";
 *
 * const counts: DocumentProjection<{ type: "Pinged"; data: null }, number> = {
 *   name: "pings",
 *   documentId: (event) => event.streamId,
 *   evolve: (count) => (count ?? 0) + 1,
 * };
 * const store = new DexieDocumentStore({ name: "example-pings" });
 * const event: RecordedEvent<{ type: "Pinged"; data: null }> = {
 *   id: "e-1", streamId: "s", version: 1, position: 1, type: "Pinged", data: null,
 *   metadata: {}, timestamp: new Date(),
 * };
 * await store.apply(counts, [event]);
 * assert.equal(await store.get("pings", "s"), 1);
 * await store.close();
 * ```
 */
export class DexieDocumentStore implements DocumentStore {
  readonly #db: Dexie;
  readonly #documents: Table<DocumentRow, [string, string]>;
  readonly #projections: Table<ProjectionRow, string>;
  #closed = false;

  /** Creates the store; the database opens on first use. */
  constructor(options: DexieDocumentStoreOptions = {}) {
    this.#db = new Dexie(options.name ?? "verdict-documents", {
      ...(options.indexedDB ? { indexedDB: options.indexedDB } : {}),
      ...(options.IDBKeyRange ? { IDBKeyRange: options.IDBKeyRange } : {}),
    });
    this.#db.version(1).stores({ documents: "[projection+id]", projections: "name" });
    this.#documents = this.#db.table("documents");
    this.#projections = this.#db.table("projections");
  }

  /** A document of a projection, `undefined` when there is none. */
  async get<D = unknown>(projection: string, id: string): Promise<D | undefined> {
    this.#assertOpen();
    assertValidDocumentKey(projection, id);
    return (await this.#documents.get([projection, id]))?.document as D | undefined;
  }

  /** A projection's documents in id order (UTF-16 code unit order, as IndexedDB sorts keys). */
  async list<D = unknown>(
    projection: string,
    options: ListDocumentsOptions = {},
  ): Promise<ProjectionDocument<D>[]> {
    this.#assertOpen();
    if (!checkListDocuments(projection, options)) return [];
    let query = this.#documents.where("[projection+id]").between(
      [projection, options.after ?? ""],
      [projection, Dexie.maxKey],
      options.after === undefined,
      true,
    );
    if (options.limit !== undefined) query = query.limit(options.limit);
    const rows = await query.toArray();
    return rows.map((row) => ({ id: row.id, document: row.document as D }));
  }

  /** The position of the last event `apply` applied for the projection. */
  async position(projection: string): Promise<number> {
    this.#assertOpen();
    assertValidDocumentKey(projection);
    return (await this.#projections.get(projection))?.position ?? 0;
  }

  /** Applies events to the projection's documents and moves its position, in one transaction. */
  async apply<E extends Event = Event>(
    projection: DocumentProjection<E>,
    events: readonly RecordedEvent<E>[],
  ): Promise<void> {
    this.#assertOpen();
    eventsToApply(projection, events, 0);
    if (events.length === 0) return;
    await this.#db.transaction("rw", this.#documents, this.#projections, async () => {
      await this.#applyHere(
        projection as DocumentProjection,
        events as readonly RecordedEvent[],
      );
    });
  }

  /** Deletes the projection's documents and its position, in one transaction. */
  async reset(projection: string): Promise<void> {
    this.#assertOpen();
    assertValidDocumentKey(projection);
    await this.#db.transaction("rw", this.#documents, this.#projections, async () => {
      await this.#documents.where("[projection+id]")
        .between([projection, ""], [projection, Dexie.maxKey], true, true)
        .delete();
      await this.#projections.delete(projection);
    });
  }

  /** Closes the database connection. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  /**
   * Keeps `view` (a projection's name) as the documents of `projection`
   * over the confirmed events, with the pending ones applied on top, in one
   * transaction: the confirmed documents live under `confirmed`.
   *
   * @ignore
   */
  async syncView(
    projection: DocumentProjection,
    confirmed: DocumentProjection,
    events: readonly LocalEvent[],
  ): Promise<void> {
    this.#assertOpen();
    const server = events.filter((event) => !event.pending);
    const pending = events.filter((event) => event.pending);
    await this.#db.transaction("rw", this.#documents, this.#projections, async () => {
      const stored = await this.#projections.get(confirmed.name);
      const fresh = eventsToApply(confirmed, server, stored?.position ?? 0);
      if (fresh.length > 0) await this.#applyHere(confirmed, fresh);
      const before = (await this.#projections.get(projection.name))?.overlaid ?? [];
      const overlay = planDocuments([projection], pending.map(withoutPosition));
      const touched = new Set<string>([
        ...before,
        ...planDocuments([projection], fresh.map(withoutPosition)).keys.map((key) =>
          key.id
        ),
        ...overlay.keys.map((key) => key.id),
      ]);
      const ids = [...touched];
      const bases = await this.#documents.bulkGet(ids.map((id) => [confirmed.name, id]));
      const base = new Map(ids.map((id, i) => [id, bases[i]?.document]));
      const changes = overlay.evolve((key) => base.get(key.id));
      const view = new Map(base);
      for (const change of changes) view.set(change.id, change.document);
      const puts: DocumentRow[] = [];
      const deletes: [string, string][] = [];
      for (const [id, document] of view) {
        if (document === undefined) deletes.push([projection.name, id]);
        else puts.push({ projection: projection.name, id, document });
      }
      await this.#documents.bulkPut(puts);
      await this.#documents.bulkDelete(deletes);
      await this.#projections.put({
        name: projection.name,
        position: fresh.length > 0
          ? fresh[fresh.length - 1].position
          : stored?.position ?? 0,
        overlaid: overlay.keys.map((key) => key.id),
      });
    });
  }

  /** Applies events inside the running Dexie transaction. */
  async #applyHere(projection: DocumentProjection, events: readonly RecordedEvent[]) {
    const stored = await this.#projections.get(projection.name);
    const fresh = eventsToApply(projection, events, stored?.position ?? 0);
    if (fresh.length === 0) return;
    const plan = planDocuments([projection], fresh);
    const rows = await this.#documents.bulkGet(
      plan.keys.map((key) => [key.projection, key.id]),
    );
    const changes = plan.evolve((_, index) => rows[index]?.document);
    await this.#documents.bulkPut(
      changes.filter((change) => change.document !== undefined).map((change) => ({
        projection: change.projection,
        id: change.id,
        document: change.document,
      })),
    );
    await this.#documents.bulkDelete(
      changes.filter((change) => change.document === undefined)
        .map((change) => [change.projection, change.id] as [string, string]),
    );
    await this.#projections.put({
      ...stored,
      name: projection.name,
      position: fresh[fresh.length - 1].position,
    });
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Dexie document store");
  }
}

function withoutPosition(event: RecordedEvent): ProjectedEvent {
  const { position: _, ...rest } = event;
  return rest as ProjectedEvent;
}

/**
 * Keeps projections' documents in a {@linkcode DexieDocumentStore} equal to
 * what a `SyncClient` sees: the server's events, and the pending commands'
 * predictions on top, re-derived whenever they change (a dispatch, a pull,
 * a verdict, in any tab). Each projection's documents are under its name;
 * the server's alone under `{name}@confirmed`. Render them with
 * `liveQuery(() => store.list(name))`.
 *
 * @example
 * ```ts ignore
 * import { liveQuery } from "dexie";
 * import { DexieDocumentStore, syncProjections } from "@verdict/verdict/dexie";
 *
 * const documents = new DexieDocumentStore({ name: "bank-views" });
 * const projection = syncProjections(sync, documents, [balancesProjection]);
 * await projection.ready;
 * liveQuery(() => documents.list("balances")).subscribe(renderBalances);
 * ```
 */
export function syncProjections(
  client: SyncClient,
  store: DexieDocumentStore,
  // deno-lint-ignore no-explicit-any
  projections: readonly DocumentProjection<any, any>[],
): { readonly ready: Promise<void>; idle(): Promise<void>; stop(): void } {
  const pairs = projections.map((projection) => ({
    projection: projection as DocumentProjection,
    confirmed: {
      ...projection,
      name: `${projection.name}@confirmed`,
    } as DocumentProjection,
  }));
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const update = async () => {
    for (const { projection, confirmed } of pairs) {
      const after = await store.position(confirmed.name);
      await store.syncView(projection, confirmed, await client.readAll({ after }));
    }
  };
  const run = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await update();
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const unsubscribe = client.onChange(() => {
    run().catch((error) => console.error("verdict: a synced projection failed:", error));
  });
  return {
    ready: run(),
    idle: () => running ?? Promise.resolve(),
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}

/**
 * The old name of {@linkcode DexieDocumentStore}.
 *
 * @deprecated Use {@linkcode DexieDocumentStore}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import { DexieDocumentStore, DexieProjectionStore } from "@verdict/verdict/dexie";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DexieProjectionStore, DexieDocumentStore);
 * ```
 */
export const DexieProjectionStore: typeof DexieDocumentStore = DexieDocumentStore;
/** The old name of {@linkcode DexieDocumentStore}. @deprecated Use {@linkcode DexieDocumentStore}. */
export type DexieProjectionStore = DexieDocumentStore;

/**
 * The old name of {@linkcode DexieDocumentStoreOptions}.
 *
 * @deprecated Use {@linkcode DexieDocumentStoreOptions}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import type { DexieDocumentStoreOptions, DexieProjectionStoreOptions } from "@verdict/verdict/dexie";
 *
 * const same = (options: DexieProjectionStoreOptions): DexieDocumentStoreOptions => options;
 * ```
 */
export type DexieProjectionStoreOptions = DexieDocumentStoreOptions;
