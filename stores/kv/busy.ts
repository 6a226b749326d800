/**
 * Deno KV on a file that another handle or process writes too: SQLite's
 * lock makes a commit fail at once with "database is locked". Such a commit
 * wrote nothing, so it is tried again, with a growing jittered pause, until
 * the store's busy deadline; past it the call fails with a `StoreBusyError`.
 *
 * @module
 */

import { StoreBusyError } from "../../mod.ts";

/** How long a KV store keeps trying a locked commit by default, in milliseconds. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Whether `error` is SQLite's "database is locked" (nothing was written). */
export function isLockedError(error: unknown): boolean {
  return error instanceof Error &&
    /database (table )?is locked|SQLITE_BUSY/i.test(error.message);
}

/**
 * Runs `write` (a commit, or a set or delete, which are commits), trying
 * again while the database is locked by another writer, for up to
 * `timeoutMs`.
 *
 * @throws {StoreBusyError} when it is still locked at the deadline.
 */
export async function whileBusy<T>(
  store: string,
  timeoutMs: number,
  write: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  for (let pause = 1;; pause = Math.min(pause * 2, 50)) {
    try {
      return await write();
    } catch (error) {
      if (!isLockedError(error)) throw error;
      const waited = performance.now() - started;
      if (waited >= timeoutMs) {
        throw new StoreBusyError(store, Math.round(waited), { cause: error });
      }
      const delay = Math.min(pause * (0.5 + Math.random()), timeoutMs - waited);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
