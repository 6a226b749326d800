/**
 * The consumer lock port: one active consumer of a name across processes
 * (PostgreSQL's `PostgresConsumerLock` is one).
 *
 * @module
 */

/**
 * Makes a subscription the only active consumer of its name across
 * processes: `acquire` resolves once this process holds the name (the
 * others wait), and the returned function releases it.
 *
 * @example A lock for one process only
 * ```ts
 * import type { ConsumerLock } from "@verdict/verdict";
 *
 * const held = new Set<string>();
 * const inProcess: ConsumerLock = {
 *   acquire: async (name) => {
 *     while (held.has(name)) await new Promise((r) => setTimeout(r, 10));
 *     held.add(name);
 *     return async () => void held.delete(name);
 *   },
 * };
 * ```
 */
export interface ConsumerLock {
  /** Resolves with a release function once the name is held; rejects if `signal` aborts first. */
  acquire(name: string, signal: AbortSignal): Promise<() => Promise<void>>;
}
