/**
 * Deno KV's limits, checked before anything is written so a refused append
 * says which limit it broke and by how much.
 *
 * @module
 */

import type { KvKey } from "./kv.ts";
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
export function keySize(key: KvKey): number {
  let size = 0;
  for (const part of key) {
    if (typeof part === "string") {
      // Type byte, UTF-8 bytes (a zero byte is escaped to two), terminator.
      size += 2 + escapedUtf8Length(part);
    } else if (part instanceof Uint8Array) {
      size += 2 + part.length;
      for (let i = 0; i < part.length; i++) if (part[i] === 0) size++;
    } else if (typeof part === "number") size += 9;
    else if (typeof part === "bigint") size += 10;
    else size += 1;
  }
  return size;
}

/**
 * UTF-8 bytes of a string as `TextEncoder` writes it (a lone surrogate
 * becomes U+FFFD, three bytes), plus one per NUL, which the key encoding
 * escapes. Counted in place: encoding every key part only to count it cost
 * more than the rest of an append's preparation.
 */
function escapedUtf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += code === 0 ? 2 : 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
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

/** The serializer's header (a tag and the format version), as a bound. */
const HEADER_BYTES = 3;

/**
 * The size of `value` where it is certainly at most `limit`, else its exact
 * {@linkcode valueSize}. Plain data is measured by an upper bound of what
 * V8's serializer writes, computed in place: serializing a value only to
 * measure it cost about as much as the rest of a small append's
 * preparation. Only a value whose bound comes near the limit is serialized.
 *
 * @example
 * ```ts
 * import { KV_LIMITS, sizeWithin, valueSize } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const event = { type: "Deposited", data: { amount: 5 } };
 * const size = sizeWithin(event, KV_LIMITS.valueBytes);
 * assert.ok(size >= valueSize(event) && size <= KV_LIMITS.valueBytes);
 * ```
 */
export function sizeWithin(value: unknown, limit: number): number {
  const bound = HEADER_BYTES + valueSizeBound(value, 0);
  return bound <= limit ? bound : valueSize(value);
}

/**
 * An upper bound of the serialized size of plain data (objects, arrays,
 * strings, numbers, booleans, null, undefined), or `Infinity` for anything
 * else. Per V8's serializer: a tag and a varint (at most five bytes) per
 * string, object and array; two bytes per UTF-16 unit of a string and one of
 * padding; nine bytes per number, per array index (sparse arrays write them)
 * and per property key beyond its characters.
 */
function valueSizeBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return 7 + 2 * value.length;
    case "number":
      return 9;
    case "boolean":
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      // Deep nesting may be a cycle, which the serializer writes as a
      // back-reference: leave such values to it.
      if (depth > 64) return Infinity;
      if (Array.isArray(value)) {
        // Named properties on an array are written too: leave them to it.
        if (Object.keys(value).length !== value.length) return Infinity;
        // Tag and length; index and value per element; end tag, property
        // count and length.
        let size = 17;
        for (let i = 0; i < value.length; i++) {
          size += 9 + valueSizeBound(value[i], depth + 1);
        }
        return size;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return Infinity;
      // Tag; key and value per property; end tag and property count.
      let size = 7;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        size += 9 + 2 * key.length +
          valueSizeBound((value as Record<string, unknown>)[key], depth + 1);
      }
      return size;
    }
    default:
      return Infinity;
  }
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
  /** Values counted by their bound, not their exact size, with that bound. */
  #bounded: { value: unknown; size: number }[] = [];

  /** Counts a write of `value` under `key`; throws if either is too large. */
  set(key: KvKey, value: unknown, what: string): void {
    const k = keySize(key);
    if (k > KV_LIMITS.keyBytes) {
      throw new KvLimitError("key size", k, KV_LIMITS.keyBytes, what);
    }
    const v = sizeWithin(value, KV_LIMITS.valueBytes);
    if (v > KV_LIMITS.valueBytes) {
      throw new KvLimitError("value size", v, KV_LIMITS.valueBytes, what);
    }
    this.#bounded.push({ value, size: v });
    this.#mutations++;
    this.#bytes += k + v;
  }

  /** Counts a deletion of `key`; throws if the key is too long. */
  delete(key: KvKey, what: string): void {
    this.keyOnly(key, what);
    this.#mutations++;
    this.#bytes += keySize(key);
  }

  /** Throws if `key` is too long, without counting it. */
  keyOnly(key: KvKey, what: string): void {
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
  check(key: KvKey, what: string): void {
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
    if (this.#bytes > KV_LIMITS.totalBytes && this.#bounded.length > 0) {
      // Bounds overstate: only the exact sizes may refuse an operation.
      for (const { value, size } of this.#bounded) {
        this.#bytes += valueSize(value) - size;
      }
      this.#bounded = [];
    }
    if (this.#bytes > KV_LIMITS.totalBytes) {
      throw new KvLimitError("total size", this.#bytes, KV_LIMITS.totalBytes, what);
    }
  }
}
