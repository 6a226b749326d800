/**
 * The PostgreSQL document store: documents of document projections in a
 * table beside the events.
 *
 * @module
 */

import type { Sql, TransactionSql } from "postgres";
import type {
  DocumentProjection,
  DocumentStore,
  Event,
  ListDocumentsOptions,
  ProjectedEvent,
  ProjectionDocument,
  RecordedEvent,
} from "../../mod.ts";
import {
  assertValidDocumentKey,
  checkListDocuments,
  eventsToApply,
  planDocuments,
} from "../../src/store_kit/mod.ts";
import { SchemaHandle } from "./schema_handle.ts";

/**
 * Options of {@linkcode PostgresDocumentStore}.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import {
 *   PostgresDocumentStore,
 *   type PostgresDocumentStoreOptions,
 * } from "@verdict/verdict/postgres";
 *
 * const sql = postgres("postgres://app@127.0.0.1/app");
 * const options: PostgresDocumentStoreOptions = { schema: "billing" };
 * const documents = new PostgresDocumentStore(sql, options);
 * await sql.end();
 * ```
 */
export interface PostgresDocumentStoreOptions {
  /** The schema (default `"verdict"`). */
  readonly schema?: string;
  /** Close the connection pool when the store closes (default false). */
  readonly ownsSql?: boolean;
  /**
   * The longest a call may take, in milliseconds (default 30,000): one
   * that has not settled by then fails (for an append, with a
   * `CommitUnknownError`) instead of waiting for ever on a connection whose
   * backend is gone.
   */
  readonly callTimeoutMs?: number;
}

/**
 * Documents of document projections in PostgreSQL: table `documents`
 * (projection, id, jsonb document) and table `projections` (an async
 * projection's position). Give it to a `PostgresEventStore` on the same
 * pool and schema as `inlineProjections.store`: the append's transaction
 * locks the documents it changes (transaction-level advisory locks, taken
 * in a fixed order after the stream rows), reads, evolves and writes them,
 * so concurrent appends never lose an update and a failed append leaves
 * them untouched. An async `apply` locks the projection's row, so its
 * documents and position commit together.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { PostgresEventStore, PostgresDocumentStore } from "@verdict/verdict/postgres";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!, { max: 16 });
 * const documents = new PostgresDocumentStore(sql, { schema: "bank" });
 * const store = new PostgresEventStore(sql, {
 *   schema: "bank",
 *   inlineProjections: {
 *     store: documents,
 *     projections: [{
 *       name: "balances",
 *       documentId: (event) => event.streamId,
 *       evolve: (balance: number | undefined, event) =>
 *         (balance ?? 0) + (event.data as { amount: number }).amount,
 *     }],
 *   },
 * });
 * await store.appendToStream("account-1", [{ type: "Deposited", data: { amount: 5 } }]);
 * console.log(await documents.get("balances", "account-1")); // 5
 * await sql.end();
 * ```
 */
export class PostgresDocumentStore implements DocumentStore {
  readonly #db: SchemaHandle;

  /** Creates a document store on a postgres.js connection pool. */
  constructor(sql: Sql, options: PostgresDocumentStoreOptions = {}) {
    this.#db = new SchemaHandle(sql, options, "PostgreSQL document store");
  }

  /** Whether this store writes to `sql` in `schema` (so an event store there can commit with it). */
  sharesDatabase(sql: Sql, schema: string): boolean {
    return this.#db.shares(sql, schema);
  }

  /** A document of a projection, `undefined` when there is none. */
  async get<D = unknown>(projection: string, id: string): Promise<D | undefined> {
    assertValidDocumentKey(projection, id);
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<{ document: D }[]>(
      `select document from ${this.#db.schema}.documents where projection = $1 and id = $2`,
      [projection, id],
      { prepare: true },
    );
    return rows.length === 0 ? undefined : rows[0].document;
  }

  /** A projection's documents in id order (UTF-8 byte order: the column's collation is "C"). */
  async list<D = unknown>(
    projection: string,
    options: ListDocumentsOptions = {},
  ): Promise<ProjectionDocument<D>[]> {
    if (!checkListDocuments(projection, options)) return [];
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<ProjectionDocument<D>[]>(
      `select id, document from ${this.#db.schema}.documents
       where projection = $1 and ($2::text is null or id > $2::text)
       order by id limit $3`,
      [projection, options.after ?? null, options.limit ?? null] as never[],
      { prepare: true },
    );
    return rows.map((row) => ({ id: row.id, document: row.document }));
  }

  /** The position of the last event `apply` applied for the projection. */
  async position(projection: string): Promise<number> {
    assertValidDocumentKey(projection);
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<{ position: number }[]>(
      `select position::float8 as position from ${this.#db.schema}.projections where name = $1`,
      [projection],
      { prepare: true },
    );
    return rows[0]?.position ?? 0;
  }

  /** Applies events to the projection's documents and moves its position, in one transaction. */
  async apply<E extends Event = Event>(
    projection: DocumentProjection<E>,
    events: readonly RecordedEvent<E>[],
  ): Promise<void> {
    eventsToApply(projection, events, 0);
    if (events.length === 0) return;
    await this.#db.ready();
    const schema = this.#db.schema;
    await this.#db.sql.begin(async (tx) => {
      await tx.unsafe(
        `insert into ${schema}.projections (name, position) values ($1, 0)
         on conflict (name) do nothing`,
        [projection.name],
        { prepare: true },
      );
      const [{ position }] = await tx.unsafe<{ position: number }[]>(
        `select position::float8 as position from ${schema}.projections
         where name = $1 for update`,
        [projection.name],
        { prepare: true },
      );
      const fresh = eventsToApply(projection, events, position);
      if (fresh.length === 0) return;
      // The row lock above serializes every apply of this projection.
      await this.#project(tx, [projection as DocumentProjection], fresh, false);
      await tx.unsafe(
        `update ${schema}.projections set position = $2 where name = $1`,
        [projection.name, fresh[fresh.length - 1].position],
        { prepare: true },
      );
    });
  }

  /**
   * Projects an append's events inside its transaction: locks, reads,
   * evolves and writes the documents they change. How a
   * `PostgresEventStore` keeps inline projections.
   *
   * @ignore
   */
  projectInTransaction(
    tx: TransactionSql,
    projections: readonly DocumentProjection[],
    events: readonly ProjectedEvent[],
  ): Promise<void> {
    this.#db.assertOpen();
    return this.#project(tx, projections, events, true);
  }

  async #project(
    tx: TransactionSql,
    projections: readonly DocumentProjection[],
    events: readonly ProjectedEvent[],
    lock: boolean,
  ): Promise<void> {
    const schema = this.#db.schema;
    const plan = planDocuments(projections, events);
    if (plan.keys.length === 0) return;
    const projectionNames = plan.keys.map((key) => key.projection);
    const ids = plan.keys.map((key) => key.id);
    if (lock) {
      // Transaction-level locks on the documents, in one fixed order, so two
      // appends changing the same documents take turns and never deadlock;
      // the read below sees what the previous holder committed.
      await tx.unsafe(
        `select pg_advisory_xact_lock(hashtext($1), k) from (
           select distinct hashtext(p || '/' || i) as k
           from unnest($2::text[], $3::text[]) as u(p, i) order by k
         ) locks`,
        [`verdict:documents:${schema}`, projectionNames, ids] as never[],
        { prepare: true },
      );
    }
    const rows = await tx.unsafe<{ n: number; document: unknown }[]>(
      `select u.n::int as n, d.document
       from unnest($1::text[], $2::text[]) with ordinality as u(p, i, n)
       join ${schema}.documents d on d.projection = u.p and d.id = u.i`,
      [projectionNames, ids] as never[],
      { prepare: true },
    );
    const stored = new Map(rows.map((row) => [row.n - 1, row.document]));
    const changes = plan.evolve((_, index) => stored.get(index));
    const documents = changes.map((change) =>
      change.document === undefined ? null : documentJson(change)
    );
    await tx.unsafe(
      `with input as (
         select * from unnest($1::text[], $2::text[], $3::text[]) as u(p, i, document)
       ), removed as (
         delete from ${schema}.documents d using input
         where input.document is null and d.projection = input.p and d.id = input.i
       )
       insert into ${schema}.documents (projection, id, document)
       select p, i, document::jsonb from input where document is not null
       on conflict (projection, id) do update set document = excluded.document`,
      [projectionNames, ids, documents] as never[],
      { prepare: true },
    );
  }

  /** Deletes the projection's documents and its position, in one transaction. */
  async reset(projection: string): Promise<void> {
    assertValidDocumentKey(projection);
    await this.#db.ready();
    const schema = this.#db.schema;
    await this.#db.sql.begin(async (tx) => {
      await tx.unsafe(`delete from ${schema}.documents where projection = $1`, [
        projection,
      ]);
      await tx.unsafe(`delete from ${schema}.projections where name = $1`, [projection]);
    });
  }

  /** Closes the store (and the pool, when it owns it). */
  async close(): Promise<void> {
    await this.#db.close();
  }
}

function documentJson(
  change: { projection: string; id: string; document: unknown },
): string {
  const text = JSON.stringify(change.document);
  if (text === undefined) {
    throw new TypeError(
      `Document "${change.id}" of projection "${change.projection}" is not JSON-serializable`,
    );
  }
  if (text.includes("\\u0000")) {
    throw new TypeError(
      `Document "${change.id}" of projection "${change.projection}" contains a NUL character (\\u0000), which PostgreSQL jsonb cannot store`,
    );
  }
  return text;
}

/**
 * The old name of {@linkcode PostgresDocumentStore}.
 *
 * @deprecated Use {@linkcode PostgresDocumentStore}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import { PostgresDocumentStore, PostgresProjectionStore } from "@verdict/verdict/postgres";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PostgresProjectionStore, PostgresDocumentStore);
 * ```
 */
export const PostgresProjectionStore: typeof PostgresDocumentStore =
  PostgresDocumentStore;
/** The old name of {@linkcode PostgresDocumentStore}. @deprecated Use {@linkcode PostgresDocumentStore}. */
export type PostgresProjectionStore = PostgresDocumentStore;

/**
 * The old name of {@linkcode PostgresDocumentStoreOptions}.
 *
 * @deprecated Use {@linkcode PostgresDocumentStoreOptions}; this alias goes in 1.0.
 *
 * @example
 * ```ts
 * import type { PostgresDocumentStoreOptions, PostgresProjectionStoreOptions } from "@verdict/verdict/postgres";
 *
 * const same = (options: PostgresProjectionStoreOptions): PostgresDocumentStoreOptions => options;
 * ```
 */
export type PostgresProjectionStoreOptions = PostgresDocumentStoreOptions;
