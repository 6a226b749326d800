/**
 * The PostgreSQL snapshot store.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Snapshot, SnapshotStore } from "../../mod.ts";
import { assertValidSnapshot } from "../../src/store_kit/mod.ts";
import { SchemaHandle } from "./schema_handle.ts";

/**
 * Options of {@linkcode PostgresSnapshotStore}.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { PostgresSnapshotStore, type PostgresSnapshotStoreOptions } from "@verdict/verdict/postgres";
 *
 * const options: PostgresSnapshotStoreOptions = { schema: "billing", ownsSql: true };
 * const snapshots = new PostgresSnapshotStore(postgres("postgres://app@127.0.0.1/app"), options);
 * await snapshots.close();
 * ```
 */
export interface PostgresSnapshotStoreOptions {
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
 * Snapshots in a PostgreSQL table, one row per stream; a save replaces the
 * row only with a snapshot of a higher or equal version.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { PostgresSnapshotStore } from "@verdict/verdict/postgres";
 *
 * const snapshots = new PostgresSnapshotStore(postgres(Deno.env.get("DATABASE_URL")!), {
 *   ownsSql: true,
 * });
 * const latest = await snapshots.load("account-1");
 * await snapshots.close();
 * ```
 */
export class PostgresSnapshotStore implements SnapshotStore {
  readonly #db: SchemaHandle;

  /** Creates a snapshot store on a postgres.js connection pool. */
  constructor(sql: Sql, options: PostgresSnapshotStoreOptions = {}) {
    this.#db = new SchemaHandle(sql, options, "PostgreSQL snapshot store");
  }

  /** The stream's snapshot, if one was saved. */
  async load<S = unknown>(streamId: string): Promise<Snapshot<S> | undefined> {
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<
      { version: number; schema_version: number; state: S; taken_at: Date }[]
    >(
      `select version::float8 as version, schema_version, state, taken_at
       from ${this.#db.schema}.snapshots where stream_id = $1`,
      [streamId],
      { prepare: true },
    );
    const row = rows[0];
    return row && {
      streamId,
      version: row.version,
      schemaVersion: row.schema_version,
      state: row.state,
      takenAt: row.taken_at,
    };
  }

  /** Saves a snapshot, unless one of a higher version is already there. */
  async save<S = unknown>(snapshot: Snapshot<S>): Promise<void> {
    assertValidSnapshot(snapshot);
    await this.#db.ready();
    await this.#db.sql.unsafe(
      `insert into ${this.#db.schema}.snapshots (stream_id, version, schema_version, state, taken_at)
       values ($1, $2, $3, $4::jsonb, $5)
       on conflict (stream_id) do update set
         version = excluded.version, schema_version = excluded.schema_version,
         state = excluded.state, taken_at = excluded.taken_at
       where ${this.#db.schema}.snapshots.version <= excluded.version`,
      [
        snapshot.streamId,
        snapshot.version,
        snapshot.schemaVersion,
        // postgres.js encodes the jsonb parameter itself.
        snapshot.state as never,
        snapshot.takenAt,
      ] as never[],
      { prepare: true },
    );
  }

  /** Closes the store (and the pool, when it owns it). */
  async close(): Promise<void> {
    await this.#db.close();
  }
}
