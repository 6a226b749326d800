/**
 * The Deno KV document store: documents of document projections, one key
 * each, beside the events.
 *
 * @module
 */

import type { AtomicOperation, Kv, KvEntryMaybe, KvKey } from "./kv.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";
import {
  type DocumentProjection,
  type DocumentStore,
  type Event,
  type ListDocumentsOptions,
  type ProjectionDocument,
  type RecordedEvent,
  StoreClosedError,
} from "../../mod.ts";
import {
  assertValidDocumentKey,
  checkListDocuments,
  type DocumentChange,
  type DocumentPlan,
  eventsToApply,
  planDocuments,
} from "../../src/store_kit/mod.ts";
import { getManyStrong } from "./get_many.ts";
import { KV_LIMITS, KvBudget, KvLimitError } from "./limits.ts";

/**
 * Options of {@linkcode KvDocumentStore}.
 *
 * @example
 * ```ts
 * import { KvDocumentStore, type KvDocumentStoreOptions } from "@verdict/verdict/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const options: KvDocumentStoreOptions = { prefix: ["billing"], ownsKv: true };
 * const documents = new KvDocumentStore(kv, options);
 * await documents.close();
 * ```
 */
export interface KvDocumentStoreOptions {
  /** The key prefix (default `["verdict"]`). */
  readonly prefix?: KvKey;
  /** Close the KV handle when the store closes (default false). */
  readonly ownsKv?: boolean;
}

/** A projection's position, and whether a reset of it is under way. */
interface PositionEntry {
  readonly position: number;
  readonly resetting?: true;
}

/** Attempts of an apply whose position check keeps failing. */
const MAX_APPLY_ATTEMPTS = 100;

/**
 * Documents of document projections on Deno KV: `[prefix, "d", projection,
 * id]` per document and `[prefix, "dp", projection]` for an async
 * projection's position. Give it to a `KvEventStore` (same `Deno.Kv`) as
 * `inlineProjections.store`: each inline document is read, checked and
 * written in the append's atomic operation, so concurrent appends that
 * change one document never lose an update (each document counts as one of
 * the operation's 10 checks). An async `apply` commits documents and
 * position in one atomic operation, split into several — each a consistent
 * prefix of the batch — only when a batch would break Deno KV's limits.
 *
 * @example
 * ```ts
 * import { KvEventStore, KvDocumentStore } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const documents = new KvDocumentStore(kv);
 * const store = new KvEventStore(kv, {
 *   ownsKv: true,
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
export class KvDocumentStore implements DocumentStore {
  readonly #kv: Kv;
  readonly #prefix: KvKey;
  readonly #ownsKv: boolean;
  #closed = false;

  /** Creates a document store over a KV handle. */
  constructor(kv: Kv, options: KvDocumentStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["verdict"];
    this.#ownsKv = options.ownsKv ?? false;
  }

  /** Whether this store writes to `kv` (so an event store there can commit with it). */
  sharesKv(kv: Kv): boolean {
    return kv === this.#kv;
  }

  #documentKey(projection: string, id: string): KvKey {
    return [...this.#prefix, "d", projection, id];
  }

  #positionKey(projection: string): KvKey {
    return [...this.#prefix, "dp", projection];
  }

  /** A document of a projection, `undefined` when there is none. */
  async get<D = unknown>(projection: string, id: string): Promise<D | undefined> {
    this.#assertOpen();
    assertValidDocumentKey(projection, id);
    const entry = await this.#kv.get<D>(this.#documentKey(projection, id), {
      consistency: "strong",
    });
    return entry.versionstamp === null ? undefined : entry.value;
  }

  /** A projection's documents in id order (UTF-8 byte order, as Deno KV sorts keys). */
  async list<D = unknown>(
    projection: string,
    options: ListDocumentsOptions = {},
  ): Promise<ProjectionDocument<D>[]> {
    this.#assertOpen();
    if (!checkListDocuments(projection, options)) return [];
    const prefix = [...this.#prefix, "d", projection];
    const selector = options.after === undefined
      ? { prefix }
      : { prefix, start: [...prefix, options.after] };
    const limit = options.limit === undefined
      ? undefined
      : options.limit + (options.after === undefined ? 0 : 1);
    const documents: ProjectionDocument<D>[] = [];
    for await (
      const entry of this.#kv.list<D>(selector, { consistency: "strong", limit })
    ) {
      const id = entry.key[entry.key.length - 1] as string;
      if (id === options.after) continue;
      documents.push({ id, document: entry.value });
    }
    return documents.slice(0, options.limit);
  }

  /** The position of the last event `apply` applied for the projection. */
  async position(projection: string): Promise<number> {
    this.#assertOpen();
    assertValidDocumentKey(projection);
    const entry = await this.#kv.get<PositionEntry>(this.#positionKey(projection), {
      consistency: "strong",
    });
    return entry.value?.resetting ? 0 : entry.value?.position ?? 0;
  }

  /**
   * Applies events to the projection's documents and moves its position, in
   * one atomic operation per part of the batch that fits Deno KV's limits.
   */
  async apply<E extends Event = Event>(
    projection: DocumentProjection<E>,
    events: readonly RecordedEvent<E>[],
  ): Promise<void> {
    this.#assertOpen();
    eventsToApply(projection, events, 0);
    const name = projection.name;
    for (let attempt = 1;; attempt++) {
      const stored = await this.#kv.get<PositionEntry>(this.#positionKey(name), {
        consistency: "strong",
      });
      if (stored.value?.resetting) {
        await this.#finishReset(name);
        continue;
      }
      const fresh = eventsToApply(projection, events, stored.value?.position ?? 0);
      if (fresh.length === 0) return;
      const committed = await this.#applyPart(
        projection as DocumentProjection,
        fresh,
        stored.versionstamp,
      );
      if (committed === fresh.length) return;
      // Part committed (the rest did not fit one operation), or another
      // runner moved the position first: read it again and go on.
      if (committed === 0 && attempt >= MAX_APPLY_ATTEMPTS) {
        throw new Error(
          `Projection "${name}": the position kept moving under this apply`,
        );
      }
      if (committed > 0) attempt = 0;
    }
  }

  /**
   * Commits as long a prefix of `events` as one atomic operation holds;
   * returns how many events it covered (0 when the position moved).
   */
  async #applyPart(
    projection: DocumentProjection,
    events: readonly RecordedEvent[],
    versionstamp: string | null,
  ): Promise<number> {
    let count = events.length;
    while (true) {
      const part = events.slice(0, count);
      const plan = planDocuments([projection], part);
      const entries = await this.readDocuments(plan);
      const changes = this.evolveDocuments(plan, entries);
      const operation = this.#kv.atomic();
      const budget = new KvBudget();
      const positionKey = this.#positionKey(projection.name);
      budget.check(positionKey, `the position of projection "${projection.name}"`);
      operation.check({ key: positionKey, versionstamp });
      const position: PositionEntry = { position: part[part.length - 1].position };
      budget.set(
        positionKey,
        position,
        `the position of projection "${projection.name}"`,
      );
      operation.set(positionKey, position);
      try {
        this.#addChanges(operation, budget, changes, undefined);
        budget.assertWithin(
          `applying ${count} events to projection "${projection.name}"`,
        );
      } catch (error) {
        const tooBig = error instanceof KvLimitError &&
          (error.limit === "mutations" || error.limit === "total size");
        if (!tooBig || count === 1) throw error;
        count = Math.ceil(count / 2);
        continue;
      }
      const result = await whileBusy(
        "Deno KV document store",
        DEFAULT_BUSY_TIMEOUT_MS,
        () => operation.commit(),
      );
      return result.ok ? count : 0;
    }
  }

  /**
   * The stored entries of a plan's documents, read with strong consistency,
   * followed by each projection's write stamp: what a `KvEventStore` reads
   * before it commits inline documents.
   *
   * @ignore
   */
  readDocuments(plan: DocumentPlan): Promise<KvEntryMaybe<unknown>[]> {
    this.#assertOpen();
    const projections = [...new Set(plan.keys.map((key) => key.projection))];
    return getManyStrong(this.#kv, [
      ...plan.keys.map((key) => this.#documentKey(key.projection, key.id)),
      ...projections.map((projection) => this.#stampKey(projection)),
    ]);
  }

  #stampKey(projection: string): KvKey {
    return [...this.#prefix, "dw", projection];
  }

  /**
   * Runs the plan's projections over the stored documents.
   *
   * @ignore
   */
  evolveDocuments(
    plan: DocumentPlan,
    entries: readonly KvEntryMaybe<unknown>[],
  ): DocumentChange[] {
    return plan.evolve((_, index) =>
      entries[index].versionstamp === null ? undefined : entries[index].value
    );
  }

  /**
   * Adds inline documents to an append's atomic operation, so that it
   * commits only if no document changed since it was read: each document is
   * checked when the operation's checks allow, otherwise its projection's
   * write stamp is (which every inline write sets), so an append may change
   * any number of documents.
   *
   * @ignore
   */
  addToOperation(
    operation: AtomicOperation,
    budget: KvBudget,
    changes: readonly DocumentChange[],
    entries: readonly KvEntryMaybe<unknown>[],
  ): void {
    this.#assertOpen();
    const perDocument = budget.checks + changes.length <= KV_LIMITS.checks;
    const stamps = new Map<string, KvEntryMaybe<unknown>>();
    for (let i = changes.length; i < entries.length; i++) {
      stamps.set(entries[i].key[entries[i].key.length - 1] as string, entries[i]);
    }
    for (const [projection, stamp] of stamps) {
      const what = `the write stamp of projection "${projection}"`;
      if (!perDocument) {
        budget.check(stamp.key, what);
        operation.check({ key: stamp.key, versionstamp: stamp.versionstamp });
      }
      budget.set(stamp.key, 0, what);
      operation.set(stamp.key, 0);
    }
    this.#addChanges(operation, budget, changes, perDocument ? entries : undefined);
  }

  #addChanges(
    operation: AtomicOperation,
    budget: KvBudget,
    changes: readonly DocumentChange[],
    checked: readonly KvEntryMaybe<unknown>[] | undefined,
  ): void {
    changes.forEach((change, i) => {
      const key = this.#documentKey(change.projection, change.id);
      const what = `document "${change.id}" of projection "${change.projection}"`;
      if (checked) {
        budget.check(key, what);
        operation.check({ key, versionstamp: checked[i].versionstamp });
      }
      if (change.document === undefined) {
        budget.delete(key, what);
        operation.delete(key);
      } else {
        budget.set(key, change.document, what);
        operation.set(key, change.document);
      }
    });
  }

  /**
   * Deletes the projection's documents and moves its position back to 0.
   * More documents than one atomic operation can delete go in several; a
   * reset cut short is finished by the next `reset` or `apply`, and reads
   * the position as 0 meanwhile.
   */
  async reset(projection: string): Promise<void> {
    this.#assertOpen();
    assertValidDocumentKey(projection);
    await whileBusy(
      "Deno KV document store",
      DEFAULT_BUSY_TIMEOUT_MS,
      () =>
        this.#kv.set(
          this.#positionKey(projection),
          { position: 0, resetting: true } satisfies PositionEntry,
        ),
    );
    await this.#finishReset(projection);
  }

  async #finishReset(projection: string): Promise<void> {
    const prefix = [...this.#prefix, "d", projection];
    while (true) {
      const keys: KvKey[] = [];
      for await (const entry of this.#kv.list({ prefix }, { limit: 100 })) {
        keys.push(entry.key);
      }
      if (keys.length === 0) break;
      const operation = this.#kv.atomic();
      for (const key of keys) operation.delete(key);
      await whileBusy(
        "Deno KV document store",
        DEFAULT_BUSY_TIMEOUT_MS,
        () => operation.commit(),
      );
    }
    await whileBusy(
      "Deno KV document store",
      DEFAULT_BUSY_TIMEOUT_MS,
      () => this.#kv.delete(this.#positionKey(projection)),
    );
  }

  /** Closes the store (and the KV handle, when it owns it). */
  close(): Promise<void> {
    if (!this.#closed && this.#ownsKv) this.#kv.close();
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Deno KV document store");
  }
}

/**
 * The old name of {@linkcode KvDocumentStore}.
 *
 * @deprecated Use {@linkcode KvDocumentStore}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import { KvDocumentStore, KvProjectionStore } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * assert.equal(KvProjectionStore, KvDocumentStore);
 * ```
 */
export const KvProjectionStore: typeof KvDocumentStore = KvDocumentStore;
/** The old name of {@linkcode KvDocumentStore}. @deprecated Use {@linkcode KvDocumentStore}. */
export type KvProjectionStore = KvDocumentStore;

/**
 * The old name of {@linkcode KvDocumentStoreOptions}.
 *
 * @deprecated Use {@linkcode KvDocumentStoreOptions}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import type { KvDocumentStoreOptions, KvProjectionStoreOptions } from "@verdict/verdict/kv";
 *
 * const same = (options: KvProjectionStoreOptions): KvDocumentStoreOptions => options;
 * ```
 */
export type KvProjectionStoreOptions = KvDocumentStoreOptions;
