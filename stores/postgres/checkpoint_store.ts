/**
 * The PostgreSQL checkpoint store.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { CheckpointStore } from "../../mod.ts";
import { assertValidCheckpoint } from "../../src/store_kit/mod.ts";
import { SchemaHandle } from "./schema_handle.ts";

/**
 * Options of {@linkcode PostgresCheckpointStore}.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import {
 *   PostgresCheckpointStore,
 *   type PostgresCheckpointStoreOptions,
 * } from "@verdict/verdict/postgres";
 *
 * const options: PostgresCheckpointStoreOptions = { schema: "billing", ownsSql: true };
 * const checkpoints = new PostgresCheckpointStore(postgres("postgres://app@127.0.0.1/app"), options);
 * await checkpoints.close();
 * ```
 */
export interface PostgresCheckpointStoreOptions {
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
 * Checkpoints in a PostgreSQL table, one row per consumer.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { PostgresCheckpointStore } from "@verdict/verdict/postgres";
 *
 * const checkpoints = new PostgresCheckpointStore(postgres(Deno.env.get("DATABASE_URL")!), {
 *   ownsSql: true,
 * });
 * await checkpoints.save("balances", 42);
 * await checkpoints.close();
 * ```
 */
export class PostgresCheckpointStore implements CheckpointStore {
  readonly #db: SchemaHandle;

  /** Creates a checkpoint store on a postgres.js connection pool. */
  constructor(sql: Sql, options: PostgresCheckpointStoreOptions = {}) {
    this.#db = new SchemaHandle(sql, options, "PostgreSQL checkpoint store");
  }

  /** The consumer's last handled position, 0 when it has none. */
  async load(consumer: string): Promise<number> {
    assertValidCheckpoint(consumer, 0);
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<{ position: number }[]>(
      `select position::float8 as position from ${this.#db.schema}.checkpoints where consumer = $1`,
      [consumer],
      { prepare: true },
    );
    return rows[0]?.position ?? 0;
  }

  /** Records the consumer's last handled position. */
  async save(consumer: string, position: number): Promise<void> {
    assertValidCheckpoint(consumer, position);
    await this.#db.ready();
    await this.#db.sql.unsafe(
      `insert into ${this.#db.schema}.checkpoints (consumer, position) values ($1, $2)
       on conflict (consumer) do update set position = excluded.position`,
      [consumer, position],
      { prepare: true },
    );
  }

  /** Closes the store (and the pool, when it owns it). */
  async close(): Promise<void> {
    await this.#db.close();
  }
}
