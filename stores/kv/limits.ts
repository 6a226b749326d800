/**
 * Deno KV's limits, checked before anything is written so a refused append
 * says which limit it broke and by how much.
 *
 * @module
 */

import { serialize } from "node:v8";
import { VerdictError } from "../../mod.ts";

/**
 * The limits of one Deno KV atomic operation (the self-hosted ones).
 *
 * @example
 * ```ts
 * import { KV_LIMITS } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * assert.equal(KV_LIMITS.valueBytes, 64 * 1024);
 * assert.equal(KV_LIMITS.checks, 10);
 * ```
 */
export const KV_LIMITS: {
  readonly valueBytes: number;
  readonly keyBytes: number;
  readonly mutations: number;
  readonly totalBytes: number;
  readonly checks: number;
} = Object.freeze({
  valueBytes: 65_536,
  keyBytes: 2_048,
  mutations: 1_000,
  totalBytes: 800 * 1024,
  checks: 10,
});

/**
 * Which Deno KV limit an operation would break.
 *
 * @example
 * ```ts
 * import { type KvLimit, KvLimitError } from "@verdict/verdict/kv";
 *
 * function explain(error: KvLimitError): string {
 *   const limit: KvLimit = error.limit;
 *   return limit === "value size" ? "split the event" : `reduce the ${limit}`;
 * }
 * ```
 */
export type KvLimit = "value size" | "key size" | "mutations" | "total size" | "checks";

/**
 * An append, record or checkpoint would break a Deno KV limit. Nothing was
 * written.
 *
 * @example
 * ```ts
 * import { KvLimitError } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const error = new KvLimitError("value size", 70_000, 65_536, "event 0 of stream s");
 * assert.equal(error.excess, 70_000 - 65_536);
 * assert.match(error.message, /by 4464/);
 * ```
 */
export class KvLimitError extends VerdictError {
  /** The limit broken. */
  readonly limit: KvLimit;
  /** The size or count the operation needed. */
  readonly actual: number;
  /** What Deno KV allows. */
  readonly max: number;
  /** How far over the limit the operation was. */
  readonly excess: number;

  /** Creates the error for a limit, the needed amount, the maximum and what was being written. */
  constructor(limit: KvLimit, actual: number, max: number, what: string) {
    super(
      `${what} needs ${actual} ${
        limit === "mutations" || limit === "checks" ? limit : "bytes"
      }, over the Deno KV ${limit} limit of ${max} by ${
        actual - max
      }; nothing was written`,
    );
    this.name = "KvLimitError";
    this.limit = limit;
    this.actual = actual;
    this.max = max;
    this.excess = actual - max;
  }
}

const utf8 = new TextEncoder();

/**
 * The encoded size of a key, as Deno KV counts it (tuple encoding).
 *
 * @example
 * ```ts
 * import { keySize } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * assert.ok(keySize(["verdict", "s", "account-1", 1]) < 2048);
 * ```
 */
export function keySize(key: Deno.KvKey): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "string") {
      // Type byte, UTF-8 bytes (a zero byte is escaped to two), terminator.
      const bytes = utf8.encode(part);
      size += 2 + bytes.length + bytes.filter((b) => b === 0).length;
    } else if (part instanceof Uint8Array) {
      size += 2 + part.length + part.filter((b) => b === 0).length;
    } else if (typeof part === "number") size += 9;
    else if (typeof part === "bigint") size += 10;
    else size += 1;
  }
  return size;
}

/**
 * The serialized size of a value (V8's serializer, as Deno KV uses).
 *
 * @example
 * ```ts
 * import { valueSize } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * assert.ok(valueSize({ type: "Deposited", data: { amount: 5 } }) < 100);
 * ```
 */
export function valueSize(value: unknown): number {
  return serialize(value).length;
}

/**
 * Accumulates one atomic operation's size and counts, checking each limit.
 *
 * @example
 * ```ts
 * import { KvBudget, KvLimitError } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const budget = new KvBudget();
 * for (let i = 0; i < 11; i++) budget.check(["h", `stream-${i}`], `stream ${i}`);
 * assert.throws(() => budget.assertWithin("this append"), KvLimitError);
 * ```
 */
export class KvBudget {
  #mutations = 0;
  #checks = 0;
  #bytes = 0;

  /** Counts a write of `value` under `key`; throws if either is too large. */
  set(key: Deno.KvKey, value: unknown, what: string): void {
    const k = keySize(key);
    if (k > KV_LIMITS.keyBytes) {
      throw new KvLimitError("key size", k, KV_LIMITS.keyBytes, what);
    }
    const v = valueSize(value);
    if (v > KV_LIMITS.valueBytes) {
      throw new KvLimitError("value size", v, KV_LIMITS.valueBytes, what);
    }
    this.#mutations++;
    this.#bytes += k + v;
  }

  /** Counts a deletion of `key`; throws if the key is too long. */
  delete(key: Deno.KvKey, what: string): void {
    this.keyOnly(key, what);
    this.#mutations++;
    this.#bytes += keySize(key);
  }

  /** Throws if `key` is too long, without counting it. */
  keyOnly(key: Deno.KvKey, what: string): void {
    const k = keySize(key);
    if (k > KV_LIMITS.keyBytes) {
      throw new KvLimitError("key size", k, KV_LIMITS.keyBytes, what);
    }
  }

  /** How many checks were counted. */
  get checks(): number {
    return this.#checks;
  }

  /** Counts a check of `key`. */
  check(key: Deno.KvKey, what: string): void {
    const k = keySize(key);
    if (k > KV_LIMITS.keyBytes) {
      throw new KvLimitError("key size", k, KV_LIMITS.keyBytes, what);
    }
    this.#checks++;
    this.#bytes += k;
  }

  /** Throws if the operation as counted breaks a per-operation limit. */
  assertWithin(what: string): void {
    if (this.#mutations > KV_LIMITS.mutations) {
      throw new KvLimitError("mutations", this.#mutations, KV_LIMITS.mutations, what);
    }
    if (this.#checks > KV_LIMITS.checks) {
      throw new KvLimitError("checks", this.#checks, KV_LIMITS.checks, what);
    }
    if (this.#bytes > KV_LIMITS.totalBytes) {
      throw new KvLimitError("total size", this.#bytes, KV_LIMITS.totalBytes, what);
    }
  }
}
