/**
 * PostgreSQL stores on postgres.js: events, command log and checkpoints in
 * one schema, created and migrated by the stores. Correct under many app
 * instances sharing one database: every expected-version mode holds under
 * races, readers see a gap-free global order, and an audited command's
 * record commits in the same statement as its events.
 *
 * @example Open all three on one pool, with atomic audit
 * ```ts ignore
 * import { audit, CommandBus } from "@verdict/verdict";
 * import { openPostgresStores } from "@verdict/verdict/postgres";
 *
 * const stores = openPostgresStores(Deno.env.get("DATABASE_URL")!, { schema: "bank" });
 * const bus = new CommandBus().use(audit(stores.commandLog));
 * // … register deciderHandler({ store: stores.events, … }) handlers …
 * await stores.close();
 * ```
 *
 * @module
 */

import type { Stores } from "../../mod.ts";
import { joinStores } from "../../src/store_kit/mod.ts";
import postgres, { type Sql } from "postgres";
import { PostgresCheckpointStore } from "./checkpoint_store.ts";
import { PostgresCommandLog } from "./command_log.ts";
import { PostgresEventStore } from "./event_store.ts";
import { PostgresSnapshotStore } from "./snapshot_store.ts";

export { PostgresEventStore, type PostgresEventStoreOptions } from "./event_store.ts";
export { PostgresCommandLog, type PostgresCommandLogOptions } from "./command_log.ts";
export * from "./checkpoint_store.ts";
export * from "./snapshot_store.ts";
export * from "./consumer_lock.ts";
export * from "./document_store.ts";
export { assertSchemaName } from "./schema.ts";
export { PostgresCallTimeoutError } from "./guard.ts";
import { DEFAULT_CALL_TIMEOUT_MS, healingPool } from "./guard.ts";
import { PoolActivity } from "./idle_exit.ts";

/**
 * The three PostgreSQL stores on one pool, opened by {@linkcode openPostgresStores}.
 *
 * @example
 * ```ts
 * import { openPostgresStores, type PostgresStores } from "@verdict/verdict/postgres";
 *
 * const stores: PostgresStores = openPostgresStores("postgres://app@127.0.0.1/app");
 * await stores.close(); // nothing connected yet: connections open on first use
 * ```
 */
export interface PostgresStores extends Stores {
  /** The connection pool they share. */
  readonly sql: Sql;
  /** The event store; its `commandLog` is `commandLog`, for atomic audit. */
  readonly events: PostgresEventStore;
  /** The command log. */
  readonly commandLog: PostgresCommandLog;
  /** The checkpoint store. */
  readonly checkpoints: PostgresCheckpointStore;
  /** The snapshot store. */
  readonly snapshots: PostgresSnapshotStore;
  /** Closes the stores and the pool. */
  close(): Promise<void>;
}

/**
 * Options of {@linkcode openPostgresStores}.
 *
 * @example Behind PgBouncer in transaction pooling mode
 * ```ts
 * import { openPostgresStores, type OpenPostgresStoresOptions } from "@verdict/verdict/postgres";
 *
 * const options: OpenPostgresStoresOptions = { schema: "billing", transactionPooler: true };
 * const stores = openPostgresStores("postgres://app@127.0.0.1:6432/app", options);
 * await stores.close(); // nothing connected yet: connections open on first use
 * ```
 */
export interface OpenPostgresStoresOptions {
  /** The schema of the stores' tables (default `"verdict"`). */
  readonly schema?: string;
  /** Connections in the pool opened on a URL (default 16). */
  readonly max?: number;
  /** The event store's (see {@linkcode PostgresEventStoreOptions}). */
  readonly notifyInterval?: number;
  /** The longest a call may take, in milliseconds (default 30,000). */
  readonly callTimeoutMs?: number;
  /**
   * The connection goes through a transaction pooler (PgBouncer in
   * transaction mode, or another that gives each transaction any server
   * connection). A pool opened on a URL then prepares no statements and sets
   * no session parameters when it connects (a pooler refuses or leaks them,
   * so the server's `statement_timeout` is not set; `callTimeoutMs` still
   * bounds every call), and the event store polls (`pollInterval`) instead
   * of listening. A pool you pass must have been opened with
   * `prepare: false`. Every append, read and append condition works as on
   * a direct connection: the stores take only transaction-level locks.
   * `PostgresConsumerLock`, which holds a session lock, needs a direct
   * connection (or a pooler in session mode).
   */
  readonly transactionPooler?: boolean;
  /**
   * The event store's poll interval (see {@linkcode PostgresEventStoreOptions});
   * with `transactionPooler`, 200 ms unless given.
   */
  readonly pollInterval?: number;
}

/**
 * Opens the three stores on a connection URL (or an existing postgres.js
 * pool), in one schema, with the command log committing atomically with
 * appends. The pool has 16 connections unless you pass your own; behind a
 * transaction pooler, say so with `transactionPooler` (see
 * {@linkcode OpenPostgresStoresOptions}).
 *
 * @example
 * ```ts ignore
 * import { openPostgresStores } from "@verdict/verdict/postgres";
 *
 * const stores = openPostgresStores("postgres://app@127.0.0.1/app", { schema: "billing" });
 * await stores.events.appendToStream("invoice-7", [{ type: "Issued", data: {} }]);
 * await stores.close();
 * ```
 */
export function openPostgresStores(
  connection: string | Sql,
  options: OpenPostgresStoresOptions = {},
): PostgresStores {
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const pooled = options.transactionPooler === true;
  if (pooled && typeof connection !== "string" && connection.options.prepare) {
    throw new TypeError(
      "Behind a transaction pooler, the pool must not prepare statements: open it with postgres(url, { prepare: false })",
    );
  }
  // The pool's sockets are unref'd while it is idle: a process that did not
  // close the stores still ends when its work does.
  const activity = new PoolActivity();
  const sql = typeof connection === "string"
    ? healingPool(
      () =>
        postgres(connection, {
          max: options.max ?? 16,
          onnotice: () => {},
          // A socket factory is a postgres.js option its types leave out.
          ...{ socket: activity.socket } as object,
          // Limits, so that nothing waits for ever: a connection attempt, a
          // statement, and a transaction left idle by a client that went away.
          connect_timeout: 10,
          // No idle or lifetime timer: postgres.js's would keep the process
          // alive (60 s, 30–60 min) after its work is done.
          idle_timeout: 0,
          max_lifetime: 0,
          // postgres.js counts connection errors for the whole pool and waits
          // up to 3^errors / 100 s (capped at 20 s) before reconnecting: after a
          // few dozen terminated backends every connection waits 20 s and the
          // pool stops answering. At most a second here, with jitter.
          backoff: (errors: number) =>
            (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** Math.min(errors, 5), 1),
          // A transaction pooler refuses session parameters at connect, and
          // hands each transaction any server connection: no named statements.
          ...(pooled ? { prepare: false } : {
            connection: {
              statement_timeout: 30_000,
              idle_in_transaction_session_timeout: 60_000,
            },
          }),
        }),
      callTimeoutMs,
      activity,
    )
    : connection;
  const schema = options.schema ?? "verdict";
  const commandLog = new PostgresCommandLog(sql, { schema, callTimeoutMs });
  const events = new PostgresEventStore(sql, {
    schema,
    commandLog,
    notifyInterval: options.notifyInterval,
    pollInterval: options.pollInterval ?? (pooled ? 200 : undefined),
    callTimeoutMs,
  });
  const checkpoints = new PostgresCheckpointStore(sql, { schema, callTimeoutMs });
  const snapshots = new PostgresSnapshotStore(sql, { schema, callTimeoutMs });
  return joinStores({ sql, events, commandLog, checkpoints, snapshots }, async () => {
    if (typeof connection === "string") await sql.end({ timeout: 5 });
  });
}
