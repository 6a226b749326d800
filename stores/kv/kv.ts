/**
 * The part of the Deno KV API the KV stores use, as types of their own: a
 * `Deno.Kv` fits them, and so does a handle of the `@deno/kv` npm package,
 * which brings Deno KV to Node with the same API. {@linkcode openKv} opens
 * one in either runtime.
 *
 * @module
 */

import { createRequire } from "node:module";

/**
 * One part of a KV key.
 *
 * @example
 * ```ts
 * import type { KvKeyPart } from "@verdict/verdict/kv";
 *
 * const part: KvKeyPart = "stream-1";
 * ```
 */
export type KvKeyPart = Uint8Array | string | number | bigint | boolean | symbol;

/**
 * A KV key: its parts, in order.
 *
 * @example
 * ```ts
 * import type { KvKey } from "@verdict/verdict/kv";
 *
 * const key: KvKey = ["verdict", "h", "stream-1"];
 * ```
 */
export type KvKey = readonly KvKeyPart[];

/**
 * How fresh a read must be.
 *
 * @example
 * ```ts
 * import type { KvConsistencyLevel } from "@verdict/verdict/kv";
 *
 * const level: KvConsistencyLevel = "strong";
 * ```
 */
export type KvConsistencyLevel = "strong" | "eventual";

/**
 * A stored entry: its key, value and versionstamp.
 *
 * @example
 * ```ts
 * import type { KvEntry } from "@verdict/verdict/kv";
 *
 * const entry: KvEntry<number> = { key: ["n"], value: 1, versionstamp: "00000000000000010000" };
 * ```
 */
export type KvEntry<T> = { key: KvKey; value: T; versionstamp: string };

/**
 * A stored entry, or the absence of one (value and versionstamp `null`).
 *
 * @example
 * ```ts
 * import type { KvEntryMaybe } from "@verdict/verdict/kv";
 *
 * const missing: KvEntryMaybe<number> = { key: ["n"], value: null, versionstamp: null };
 * ```
 */
export type KvEntryMaybe<T> = KvEntry<T> | {
  key: KvKey;
  value: null;
  versionstamp: null;
};

/**
 * A committed write and its versionstamp.
 *
 * @example
 * ```ts
 * import { type KvCommitResult, openKv } from "@verdict/verdict/kv";
 *
 * const kv = await openKv(":memory:");
 * const result: KvCommitResult = await kv.set(["k"], 1);
 * kv.close();
 * ```
 */
export interface KvCommitResult {
  /** Committed. */
  ok: true;
  /** The commit's versionstamp. */
  versionstamp: string;
}

/**
 * A write refused because a check failed.
 *
 * @example
 * ```ts
 * import { openKv } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await openKv(":memory:");
 * await kv.set(["k"], 1);
 * const refused = await kv.atomic().check({ key: ["k"], versionstamp: null }).set(["k"], 2).commit();
 * assert.equal(refused.ok, false);
 * kv.close();
 * ```
 */
export interface KvCommitError {
  /** Not committed. */
  ok: false;
}

/**
 * What a list reads: a prefix, a range, or a prefix from or up to a key.
 *
 * @example
 * ```ts
 * import type { KvListSelector } from "@verdict/verdict/kv";
 *
 * const oneStream: KvListSelector = { prefix: ["verdict", "s", "stream-1"] };
 * ```
 */
export type KvListSelector =
  | { prefix: KvKey }
  | { prefix: KvKey; start: KvKey }
  | { prefix: KvKey; end: KvKey }
  | { start: KvKey; end: KvKey };

/**
 * How a list reads.
 *
 * @example
 * ```ts
 * import type { KvListOptions } from "@verdict/verdict/kv";
 *
 * const newestFirst: KvListOptions = { reverse: true, limit: 10, consistency: "strong" };
 * ```
 */
export interface KvListOptions {
  /** At most this many entries. */
  limit?: number;
  /** Where a previous list stopped. */
  cursor?: string;
  /** Last key first. */
  reverse?: boolean;
  /** How fresh. */
  consistency?: KvConsistencyLevel;
  /** Entries fetched per round trip. */
  batchSize?: number;
}

/**
 * The entries of a list, and where it stands.
 *
 * @example
 * ```ts
 * import { type KvListIterator, openKv } from "@verdict/verdict/kv";
 *
 * const kv = await openKv(":memory:");
 * const entries: KvListIterator<unknown> = kv.list({ prefix: [] });
 * for await (const entry of entries) console.log(entry.key);
 * kv.close();
 * ```
 */
export interface KvListIterator<T> extends AsyncIterableIterator<KvEntry<T>> {
  /** Where the list stands, to resume it. */
  get cursor(): string;
}

/**
 * That a key's versionstamp is still the one read (`null`: that it is absent).
 *
 * @example
 * ```ts
 * import type { AtomicCheck } from "@verdict/verdict/kv";
 *
 * const stillAbsent: AtomicCheck = { key: ["verdict", "h", "new-stream"], versionstamp: null };
 * ```
 */
export interface AtomicCheck {
  /** The key. */
  key: KvKey;
  /** Its versionstamp as read. */
  versionstamp: string | null;
}

/**
 * Checks and writes committed together, or not at all.
 *
 * @example
 * ```ts
 * import { type AtomicOperation, openKv } from "@verdict/verdict/kv";
 *
 * const kv = await openKv(":memory:");
 * const operation: AtomicOperation = kv.atomic().set(["a"], 1).set(["b"], 2);
 * await operation.commit();
 * kv.close();
 * ```
 */
export interface AtomicOperation {
  /** Adds checks. */
  check(...checks: AtomicCheck[]): this;
  /** Adds a write. */
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): this;
  /** Adds a deletion. */
  delete(key: KvKey): this;
  /** Commits: every check holds and every write lands, or nothing does. */
  commit(): Promise<KvCommitResult | KvCommitError>;
}

/**
 * A Deno KV database handle: `Deno.Kv` in Deno, the `@deno/kv` package's in
 * Node. `commitVersionstamp` is Deno's alone; the event store keeps its
 * global order without it too.
 *
 * @example
 * ```ts
 * import { type Kv, openKv } from "@verdict/verdict/kv";
 *
 * const kv: Kv = await openKv(":memory:");
 * await kv.set(["greeting"], "hello");
 * kv.close();
 * ```
 */
export interface Kv {
  /** Reads one key. */
  get<T = unknown>(
    key: KvKey,
    options?: { consistency?: KvConsistencyLevel },
  ): Promise<KvEntryMaybe<T>>;
  /** Reads up to 10 keys. */
  getMany<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: KvKey }],
    options?: { consistency?: KvConsistencyLevel },
  ): Promise<{ [K in keyof T]: KvEntryMaybe<T[K]> }>;
  /** Writes one key. */
  set(
    key: KvKey,
    value: unknown,
    options?: { expireIn?: number },
  ): Promise<KvCommitResult>;
  /** Deletes one key. */
  delete(key: KvKey): Promise<void>;
  /** Lists entries in key order. */
  list<T = unknown>(selector: KvListSelector, options?: KvListOptions): KvListIterator<T>;
  /** Starts an atomic operation. */
  atomic(): AtomicOperation;
  /** The latest entries of `keys`, and again each time one changes. */
  watch<T extends readonly unknown[]>(
    keys: readonly [...{ [K in keyof T]: KvKey }],
    options?: { raw?: boolean },
  ): ReadableStream<{ [K in keyof T]: KvEntryMaybe<T[K]> }>;
  /** Closes the handle. */
  close(): void;
  /** A key part replaced by the commit's versionstamp (Deno only). */
  commitVersionstamp?(): symbol;
}

/**
 * Opens a Deno KV database: `Deno.openKv` in Deno; in Node, the `openKv` of
 * the `@deno/kv` npm package (`npm install @deno/kv`), the same database
 * format. `path` is a file, `":memory:"`, or (in Deno) omitted for the
 * default database.
 *
 * @example
 * ```ts
 * import { openKv } from "@verdict/verdict/kv";
 *
 * const kv = await openKv(":memory:");
 * await kv.set(["hello"], "world");
 * kv.close();
 * ```
 */
export async function openKv(path?: string): Promise<Kv> {
  const deno =
    (globalThis as { Deno?: { openKv?: (path?: string) => Promise<Kv> } }).Deno;
  if (typeof deno?.openKv === "function") return await deno.openKv(path);
  // Required at run time, not imported: neither Deno nor JSR resolves an
  // npm package that only Node needs.
  let module: { openKv(path?: string): Promise<Kv> };
  try {
    module = createRequire(import.meta.url)("@deno/kv");
  } catch (error) {
    throw new Error(
      "Deno KV outside Deno needs the @deno/kv package: npm install @deno/kv",
      { cause: error },
    );
  }
  return await module.openKv(path);
}
