/**
 * One active consumer per name across processes, on a PostgreSQL advisory lock.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { ConsumerLock } from "../../mod.ts";

/**
 * A `ConsumerLock` on PostgreSQL session advisory locks: a subscription that
 * uses it holds a connection with `pg_advisory_lock(hashtext(name))` while it
 * runs; another process's subscription of the same name waits on the lock
 * (polling `pg_try_advisory_lock`, so it can stop while waiting) and takes
 * over when the holder stops — or dies, as the server drops the lock with
 * the holder's connection.
 *
 * @example Two instances, one consumer at a time
 * ```ts ignore
 * import postgres from "postgres";
 * import { Subscription } from "@verdict/verdict";
 * import { openPostgresStores, PostgresConsumerLock } from "@verdict/verdict/postgres";
 *
 * const stores = openPostgresStores(Deno.env.get("DATABASE_URL")!);
 * new Subscription({
 *   name: "invoices",
 *   store: stores.events,
 *   checkpoints: stores.checkpoints,
 *   lock: new PostgresConsumerLock(stores.sql),
 *   handle: (event) => console.log(event.type),
 * }).start();
 * ```
 */
export class PostgresConsumerLock implements ConsumerLock {
  readonly #sql: Sql;
  readonly #pollMs: number;

  /** Creates a lock on a pool; `pollMs` is how often a waiter tries (default 250). */
  constructor(sql: Sql, options: { pollMs?: number } = {}) {
    this.#sql = sql;
    this.#pollMs = options.pollMs ?? 250;
  }

  /** Resolves once this process holds the name; rejects if `signal` aborts first. */
  async acquire(name: string, signal: AbortSignal): Promise<() => Promise<void>> {
    const connection = await this.#sql.reserve();
    const key = `verdict:consumer:${name}`;
    try {
      while (true) {
        if (signal.aborted) throw signal.reason ?? new Error("aborted");
        const [{ locked }] = await connection.unsafe<{ locked: boolean }[]>(
          "select pg_try_advisory_lock(hashtext($1)) as locked",
          [key],
        );
        if (locked) break;
        await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
      }
    } catch (error) {
      connection.release();
      throw error;
    }
    return async () => {
      await connection.unsafe("select pg_advisory_unlock(hashtext($1))", [key]).catch(
        () => {},
      );
      connection.release();
    };
  }
}
