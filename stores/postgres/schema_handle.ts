/**
 * What every PostgreSQL store holds: the pool (every call held to a
 * deadline), the schema, whether it owns the pool, and whether it is closed.
 *
 * @module
 */

import type { Sql } from "postgres";
import { StoreClosedError } from "../../mod.ts";
import { guardDriverCrash } from "./driver_guard.ts";
import { DEFAULT_CALL_TIMEOUT_MS, guardedSql } from "./guard.ts";
import { migrate } from "./schema.ts";

/** The options every PostgreSQL store takes. */
export interface SchemaOptions {
  readonly schema?: string;
  readonly ownsSql?: boolean;
  readonly callTimeoutMs?: number;
}

/** One store's hold on its schema; see the module documentation. */
export class SchemaHandle {
  /** The pool, every call held to the store's deadline. */
  readonly sql: Sql;
  /** The schema holding the store's tables. */
  readonly schema: string;
  /** The pool as given: what `shares` compares. */
  readonly #raw: Sql;
  readonly #ownsSql: boolean;
  readonly #what: string;
  #closed = false;

  /** `what` names the store in a `StoreClosedError`. */
  constructor(sql: Sql, options: SchemaOptions, what: string) {
    this.#raw = sql;
    guardDriverCrash();
    this.sql = guardedSql(sql, options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    this.schema = options.schema ?? "verdict";
    this.#ownsSql = options.ownsSql ?? false;
    this.#what = what;
  }

  /** Whether the store was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether `sql` and `schema` are this store's (a store there can commit with it). */
  shares(sql: Sql, schema: string): boolean {
    return sql === this.#raw && schema === this.schema;
  }

  /** Throws a `StoreClosedError` once the store is closed. */
  assertOpen(): void {
    if (this.#closed) throw new StoreClosedError(this.#what);
  }

  /** Resolves once the schema's tables are there; throws once the store is closed. */
  async ready(): Promise<void> {
    this.assertOpen();
    await migrate(this.sql, this.schema);
  }

  /**
   * Closes the store once: runs `before` (what must happen while the pool
   * is up), then ends the pool when the store owns it.
   */
  async close(before?: () => Promise<void>): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await before?.();
    if (this.#ownsSql) await this.sql.end();
  }
}
