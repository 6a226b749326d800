/**
 * A deadline on every call a PostgreSQL store makes. postgres.js can leave a
 * query unsettled for ever when its connection's backend is terminated
 * (seen here: 3 appends of ~41,000 under 27 terminations, and a pool that
 * stopped answering); a call that has not settled by the deadline fails
 * instead, and the late outcome of the query, whatever it is, is swallowed
 * rather than left to surface as an unhandled rejection.
 *
 * @module
 */

import type { Sql } from "postgres";
import { VerdictError } from "../../mod.ts";
import { type PoolActivity, trackActivity } from "./idle_exit.ts";

/** The deadline of one call, by default, in milliseconds. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/**
 * A PostgreSQL call ran past its deadline (see `callTimeoutMs`): the server
 * or the connection stopped answering. What it asked for may or may not have
 * happened; appends raise a `CommitUnknownError` with this as the cause.
 *
 * @example
 * ```ts
 * import { PostgresCallTimeoutError } from "@verdict/verdict/postgres";
 * import assert from "node:assert/strict";
 *
 * assert.match(new PostgresCallTimeoutError(100).message, /100 ms/);
 * ```
 */
export class PostgresCallTimeoutError extends VerdictError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;
  /** Creates the error for the deadline that passed. */
  constructor(timeoutMs: number) {
    super(`A PostgreSQL call did not settle within ${timeoutMs} ms`);
    this.name = "PostgresCallTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** `promise`, or a `PostgresCallTimeoutError` once `ms` have passed. */
export function withinDeadline<T>(promise: PromiseLike<T>, ms: number): Promise<T> {
  if (!Number.isFinite(ms)) return Promise.resolve(promise);
  const settled = Promise.resolve(promise);
  // The loser of the race must never surface as unhandled.
  settled.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PostgresCallTimeoutError(ms)), ms);
    // Never keeps a process alive by itself (Node; Deno's timers return ids).
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}

const cache = new WeakMap<Sql, Map<number, Sql>>();

/**
 * `sql` with every `unsafe()` and `begin()` call held to a deadline of `ms`
 * (the whole transaction, for `begin`). Other members pass through.
 */
export function guardedSql(sql: Sql, ms: number): Sql {
  if (healing.has(sql)) return sql;
  let byTimeout = cache.get(sql);
  if (!byTimeout) cache.set(sql, byTimeout = new Map());
  let guarded = byTimeout.get(ms);
  if (guarded) return guarded;
  guarded = new Proxy(sql, {
    get(target, property, receiver) {
      if (property === "unsafe" || property === "begin") {
        const call = Reflect.get(target, property, receiver) as (
          ...args: unknown[]
        ) => PromiseLike<unknown>;
        return (...args: unknown[]) => withinDeadline(call.apply(target, args), ms);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  byTimeout.set(ms, guarded);
  return guarded;
}

/** Pools made by {@linkcode healingPool}: their calls already have a deadline. */
const healing = new WeakSet<Sql>();

/**
 * A pool that mends itself: every `unsafe()` and `begin()` call is held to a
 * deadline of `ms`, and when one misses it the pool behind is ended and
 * replaced by a fresh one from `open`, at most once a second. postgres.js
 * 3.4.x can lose every connection of a pool for good when backends are
 * terminated (a connection reset leaves its queries unsettled, and the pool
 * stops connecting): without this, a store stops answering.
 */
export function healingPool(open: () => Sql, ms: number, activity?: PoolActivity): Sql {
  let current = open();
  let replacedAt = -Infinity;
  const replace = (failed: Sql) => {
    if (failed !== current || performance.now() - replacedAt < 1_000) return;
    replacedAt = performance.now();
    current = open();
    failed.end({ timeout: 0 }).catch(() => {});
  };
  const pool = new Proxy(current, {
    apply(_target, thisArg, args) {
      return Reflect.apply(
        current as unknown as (...a: unknown[]) => unknown,
        thisArg,
        args,
      );
    },
    get(_target, property) {
      const target = current;
      if (property === "unsafe" || property === "begin") {
        const call = Reflect.get(target, property) as (
          ...args: unknown[]
        ) => PromiseLike<unknown>;
        const guarded = (...args: unknown[]) =>
          withinDeadline(call.apply(target, args), ms).catch((error) => {
            if (error instanceof PostgresCallTimeoutError) replace(target);
            throw error;
          });
        return activity
          ? (...args: unknown[]) => activity.hold(() => guarded(...args))
          : guarded;
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  healing.add(pool);
  if (activity) trackActivity(pool, activity);
  return pool;
}
