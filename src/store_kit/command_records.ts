/**
 * For store authors: the rules every command log applies — what a record
 * may hold and how it is made storable, the order and cursor of queries,
 * and when a retry may replace a stored record.
 *
 * @module
 */

import {
  CommandAlreadyRecordedError,
  type CommandQuery,
  type CommandRecord,
  type CommandRecordError,
} from "../command_log.ts";
import { isStorableText, toStorableText } from "./stored_data.ts";

/**
 * The page size a {@linkcode CommandQuery} asks for (default 100), after
 * checking the query: a `limit` that is not an integer ≥ 1 is a
 * `RangeError`; `since` and `before` that are not valid dates, or an
 * `after` (a time bound is `since`: `after` is exclusive everywhere in
 * verdict, a time bound is not), are a `TypeError`. Every command log
 * checks its queries with it.
 *
 * @example
 * ```ts
 * import { commandQueryLimit } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assert.equal(commandQueryLimit({}), 100);
 * assert.equal(commandQueryLimit({ since: new Date(0), limit: 5 }), 5);
 * assert.throws(() => commandQueryLimit({ limit: 0 }), RangeError);
 * assert.throws(() => commandQueryLimit({ after: new Date() } as never), /use `since`/);
 * ```
 */
export function commandQueryLimit(query: CommandQuery): number {
  if ((query as { after?: unknown }).after !== undefined) {
    throw new TypeError(
      "A command query has no `after`: use `since` (timestamp >= since) and `before` (timestamp < before)",
    );
  }
  for (const bound of ["since", "before"] as const) {
    const value = query[bound];
    if (
      value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))
    ) {
      throw new TypeError(`A command query's ${bound} must be a valid Date`);
    }
  }
  const limit = query.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be an integer >= 1, got ${limit}`);
  }
  return limit;
}

/**
 * A position in timestamp order: what a cursor points after.
 *
 * @example
 * ```ts
 * import { type CommandCursor, encodeCommandCursor } from "@verdict/verdict/store-kit";
 *
 * const last: CommandCursor = { timestamp: Date.UTC(2026, 0, 1), id: "0190f0c8-0000-7000-8000-000000000000" };
 * const cursor: string = encodeCommandCursor(last);
 * ```
 */
export interface CommandCursor {
  /** The last returned record's timestamp, in ms since the epoch. */
  readonly timestamp: number;
  /** The last returned record's id. */
  readonly id: string;
}

/**
 * Encodes a cursor as an opaque string. Stores use it so cursors look the same
 * everywhere; callers only pass them back.
 *
 * @example
 * ```ts
 * import { decodeCommandCursor, encodeCommandCursor } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const cursor = encodeCommandCursor({ timestamp: 5, id: "a" });
 * assert.deepEqual(decodeCommandCursor(cursor), { timestamp: 5, id: "a" });
 * ```
 */
export function encodeCommandCursor(cursor: CommandCursor): string {
  return btoa(JSON.stringify([cursor.timestamp, cursor.id]))
    .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/**
 * Decodes a cursor made by {@linkcode encodeCommandCursor}.
 *
 * @throws {TypeError} when the string is not such a cursor.
 *
 * @example
 * ```ts
 * import { decodeCommandCursor } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodeCommandCursor("nonsense"), TypeError);
 * ```
 */
export function decodeCommandCursor(cursor: string): CommandCursor {
  try {
    const base64 = cursor.replaceAll("-", "+").replaceAll("_", "/");
    const parsed: unknown = JSON.parse(atob(base64));
    if (
      Array.isArray(parsed) && parsed.length === 2 &&
      typeof parsed[0] === "number" && typeof parsed[1] === "string"
    ) {
      return { timestamp: parsed[0], id: parsed[1] };
    }
  } catch {
    // Reported below with the same message as a well-formed wrong cursor.
  }
  throw new TypeError(`Not a command-log cursor: ${JSON.stringify(cursor)}`);
}

/**
 * Orders records by timestamp, then id: the order of every command-log page.
 *
 * @example
 * ```ts
 * import { compareCommandOrder } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assert.ok(compareCommandOrder({ timestamp: 1, id: "b" }, { timestamp: 2, id: "a" }) < 0);
 * assert.ok(compareCommandOrder({ timestamp: 2, id: "b" }, { timestamp: 2, id: "a" }) > 0);
 * ```
 */
export function compareCommandOrder(a: CommandCursor, b: CommandCursor): number {
  if (a.timestamp !== b.timestamp) return a.timestamp - b.timestamp;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A command record as read back from a store that keeps records whole (Deno
 * KV, IndexedDB): records written by verdict 0.1 named the command's type
 * `commandType`; they read with `type`, as every record now does.
 *
 * @example
 * ```ts
 * import { type CommandRecord } from "@verdict/verdict";
 * import { storedCommandRecord } from "@verdict/verdict/store-kit";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const { type, ...rest } = sampleCommandRecord({ type: "Deposit" });
 * const old = { ...rest, commandType: type } as unknown as CommandRecord;
 * assert.equal(storedCommandRecord(old).type, "Deposit");
 * ```
 */
export function storedCommandRecord(stored: CommandRecord): CommandRecord {
  const old = stored as CommandRecord & { commandType?: string };
  if (old.type !== undefined || typeof old.commandType !== "string") return stored;
  const { commandType, ...record } = old;
  return { ...record, type: commandType };
}

/**
 * Throws a `TypeError` unless `record` has the fields every command log
 * needs: non-empty `id`, `correlationId` and `type`, a valid `Date`
 * timestamp and a known status.
 *
 * @example
 * ```ts
 * import { assertValidCommandRecord } from "@verdict/verdict/store-kit";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * assertValidCommandRecord(sampleCommandRecord());
 * assert.throws(() => assertValidCommandRecord(sampleCommandRecord({ id: "" })), TypeError);
 * ```
 */
export function assertValidCommandRecord(record: CommandRecord): void {
  if (typeof record !== "object" || record === null) {
    throw new TypeError("A command record must be an object");
  }
  for (const field of ["id", "correlationId", "type"] as const) {
    if (typeof record[field] !== "string" || record[field].length === 0) {
      throw new TypeError(`A command record needs a non-empty string ${field}`);
    }
  }
  if (!(record.timestamp instanceof Date) || Number.isNaN(record.timestamp.getTime())) {
    throw new TypeError("A command record needs a valid Date timestamp");
  }
  const status = record.status;
  if (status !== "accepted" && status !== "rejected" && status !== "failed") {
    throw new TypeError(`Unknown command status ${JSON.stringify(status)}`);
  }
}

/**
 * The metadata key under which {@linkcode storableRecord} lists the parts of
 * a record it had to change to store it (`"metadata.userId"`, `"payload"`…).
 *
 * @example
 * ```ts
 * import { ALTERED_PARTS_KEY, storableRecord } from "@verdict/verdict/store-kit";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const stored = storableRecord(sampleCommandRecord({ metadata: { note: "a\u0000b" } }));
 * assert.deepEqual(stored.metadata[ALTERED_PARTS_KEY], ["metadata.note"]);
 * ```
 */
export const ALTERED_PARTS_KEY = "verdict.altered";

/**
 * Options of {@linkcode storableRecord}.
 *
 * @example A log whose values hold at most 60,000 bytes
 * ```ts
 * import {
 *   storableRecord,
 *   type StorableRecordOptions,
 * } from "@verdict/verdict/store-kit";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const options: StorableRecordOptions = { maxBytes: 60_000 };
 * const stored = storableRecord(sampleCommandRecord({ payload: "x".repeat(100_000) }), options);
 * assert.deepEqual(stored.metadata["verdict.altered"], ["payload"]);
 * ```
 */
export interface StorableRecordOptions {
  /** The largest record the log can store, as `sizeOf` measures it (default: no limit). */
  readonly maxBytes?: number;
  /** Measures a record (default: its payload's bytes plus the JSON of the rest). */
  readonly sizeOf?: (record: CommandRecord) => number;
}

/**
 * The record as a command log stores it: every command leaves a record, so
 * what a log cannot keep is changed by one documented policy instead of
 * losing the record.
 *
 * - Text with a NUL character or a lone surrogate (which PostgreSQL cannot
 *   store) keeps its other characters; those become U+FFFD.
 * - Metadata and error values that are not JSON (a `Map`, a `BigInt`, a
 *   cycle, `NaN`…) become the text `"[unstorable: …]"`; a value with a
 *   `toJSON()` (a `Date`) is stored as that, as JSON does.
 * - A record larger than `maxBytes` (Deno KV's value limit) gives up its
 *   payload first (replaced by the JSON marker
 *   `{"verdict.truncated":{"bytes":…,"codec":…}}`), then its error's
 *   details and issues, then its metadata.
 * - Every part changed is listed in `metadata["verdict.altered"]`
 *   ({@linkcode ALTERED_PARTS_KEY}).
 *
 * A record that needs no change is returned as it is. Every command log
 * calls it on every record it writes, atomic or not.
 *
 * @throws {TypeError} for a record that is not one (see {@linkcode assertValidCommandRecord}).
 *
 * @example
 * ```ts
 * import { storableRecord } from "@verdict/verdict/store-kit";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const record = sampleCommandRecord({
 *   status: "rejected",
 *   error: { name: "CommandRejectedError", message: "no", details: { raw: "a\u0000" } },
 * });
 * const stored = storableRecord(record);
 * assert.equal(stored.error?.details?.raw, "a\uFFFD");
 * assert.deepEqual(stored.metadata["verdict.altered"], ["error.details.raw"]);
 * ```
 */
export function storableRecord(
  record: CommandRecord,
  options: StorableRecordOptions = {},
): CommandRecord {
  assertValidCommandRecord(record);
  const altered: string[] = [];
  const text = (value: string, path: string): string => {
    if (isStorableText(value)) return value;
    altered.push(path);
    return toStorableText(value);
  };
  let result: Mutable<CommandRecord> = record;
  const change = () => (result === record ? (result = { ...record }) : result);

  for (const field of ["correlationId", "type", "causationId"] as const) {
    const value = record[field];
    if (value === undefined) continue;
    const safe = text(value, field);
    if (safe !== value) change()[field] = safe;
  }
  const metadata = storableJson(record.metadata, "metadata", altered, text);
  if (metadata !== record.metadata) {
    change().metadata = metadata as Record<string, unknown>;
  }
  if (record.error !== undefined) {
    const error = storableJson(record.error, "error", altered, text);
    if (error !== record.error) change().error = error as CommandRecordError;
  }

  const max = options.maxBytes ?? Infinity;
  const sizeOf = options.sizeOf ?? defaultSize;
  if (Number.isFinite(max) && sizeOf(result) > max) {
    const payload = result.payload;
    const bytes = typeof payload === "string"
      ? new TextEncoder().encode(payload).length
      : payload.length;
    change().payload = JSON.stringify({
      "verdict.truncated": { bytes, codec: record.payloadCodec },
    });
    result.payloadCodec = "json";
    altered.push("payload");
    if (sizeOf(result) > max && result.error) {
      const { details: _details, issues: _issues, ...rest } = result.error;
      result.error = { ...rest, message: rest.message.slice(0, 1_000) };
      altered.push("error.details");
    }
    if (sizeOf(result) > max) {
      result.metadata = {};
      altered.push("metadata");
    }
  }
  if (altered.length === 0) return result;
  change().metadata = { ...result.metadata, [ALTERED_PARTS_KEY]: altered };
  return result;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function defaultSize(record: CommandRecord): number {
  const payload = typeof record.payload === "string"
    ? record.payload.length * 3
    : record.payload.length;
  const { payload: _payload, ...rest } = record;
  return payload + (JSON.stringify(rest)?.length ?? 0) * 3;
}

/**
 * A JSON copy of `value` with unstorable parts replaced (see
 * `storableRecord`), or `value` itself when nothing needed to change.
 */
function storableJson(
  value: unknown,
  path: string,
  altered: string[],
  text: (value: string, path: string) => string,
  ancestors: object[] = [],
): unknown {
  const marker = (what: string) => {
    altered.push(path);
    return `[unstorable: ${what}]`;
  };
  switch (typeof value) {
    case "string":
      return text(value, path);
    case "number":
      return Number.isFinite(value) ? value : marker(String(value));
    case "boolean":
      return value;
    case "bigint":
      return marker("a BigInt");
    case "undefined":
      return marker("undefined");
    case "symbol":
    case "function":
      return marker(`a ${typeof value}`);
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.includes(object)) return marker("a cycle");
  if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
    return storableJson(
      (object as { toJSON(): unknown }).toJSON(),
      path,
      altered,
      text,
      ancestors,
    );
  }
  ancestors.push(object);
  try {
    if (Array.isArray(object)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < object.length; i++) {
        const item = object[i] === undefined
          ? null // as JSON does
          : storableJson(object[i], `${path}.${i}`, altered, text, ancestors);
        if (item !== object[i]) (copy ??= object.slice())[i] = item;
      }
      return copy ?? object;
    }
    const prototype = Object.getPrototypeOf(object);
    if (
      prototype !== Object.prototype && prototype !== null &&
      Object.getPrototypeOf(prototype) !== null
    ) {
      const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
      return marker(typeof name === "string" && name ? `a ${name}` : "an object");
    }
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(object)) {
      const field = (object as Record<string, unknown>)[key];
      if (field === undefined) continue;
      // The path names the key as stored: the list of changes is stored too.
      const shown = toStorableText(key);
      const safeKey = text(key, `${path}.${shown}`);
      const safe = storableJson(field, `${path}.${shown}`, altered, text, ancestors);
      if (safe !== field || safeKey !== key) {
        copy ??= { ...(object as Record<string, unknown>) };
        if (safeKey !== key) delete copy[key];
        // defineProperty: a "__proto__" key stays a key.
        Object.defineProperty(copy, safeKey, {
          value: safe,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return copy ?? object;
  } finally {
    ancestors.pop();
  }
}

/**
 * The record that replaces `existing`, a failed record of the same command
 * (a failed command wrote nothing, so it may be retried under its id): the
 * retry's outcome, under the first attempt's timestamp, correlation and
 * type, so every index of the log keeps its place.
 *
 * @throws {CommandAlreadyRecordedError} when `existing` is not a failed record.
 *
 * @example
 * ```ts
 * import { retriedRecord } from "@verdict/verdict/store-kit";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const failed = sampleCommandRecord({ status: "failed", timestamp: new Date(1_000) });
 * const retry = { ...failed, status: "accepted" as const, timestamp: new Date(2_000) };
 * const stored = retriedRecord(failed, retry);
 * assert.equal(stored.status, "accepted");
 * assert.equal(stored.timestamp.getTime(), 1_000);
 * ```
 */
export function retriedRecord(
  existing: CommandRecord,
  record: CommandRecord,
): CommandRecord {
  if (existing.status !== "failed") {
    throw new CommandAlreadyRecordedError(record.id, existing);
  }
  return {
    ...record,
    correlationId: existing.correlationId,
    type: existing.type,
    timestamp: existing.timestamp,
  };
}
