/**
 * The rules every store applies to an append before writing, shared so each
 * store reports bad input and conflicts the same way.
 *
 * @module
 */

import { ConcurrencyError, type ExpectedVersion, StreamNotFoundError } from "./errors.ts";
import type {
  AppendOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
} from "./event_store.ts";
import type { CommandRecord } from "./command_record.ts";
import { uuidv7 } from "./uuid.ts";

/**
 * Throws a `TypeError` unless `streamId` is a non-empty string.
 *
 * @example
 * ```ts
 * import { assertValidStreamId } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assertValidStreamId("account-1");
 * assert.throws(() => assertValidStreamId(""), TypeError);
 * ```
 */
export function assertValidStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== "string" || streamId.length === 0) {
    throw new TypeError(
      `A stream id must be a non-empty string, got ${describe(streamId)}`,
    );
  }
}

/**
 * Throws a `TypeError` unless `expected` is a valid expected version: an
 * integer ≥ 0 or one of `"no_stream"`, `"stream_exists"`, `"any"`.
 *
 * @example
 * ```ts
 * import { assertValidExpectedVersion } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assertValidExpectedVersion("no_stream");
 * assert.throws(() => assertValidExpectedVersion(-1), TypeError);
 * ```
 */
export function assertValidExpectedVersion(
  expected: unknown,
): asserts expected is ExpectedVersion {
  if (
    expected === "any" || expected === "no_stream" ||
    expected === "stream_exists" ||
    (typeof expected === "number" && Number.isSafeInteger(expected) &&
      expected >= 0)
  ) return;
  throw new TypeError(
    `An expected version must be an integer >= 0, "no_stream", "stream_exists" or "any", got ${
      describe(expected)
    }`,
  );
}

/**
 * Throws a `TypeError` unless every event has a non-empty string `type`, and
 * an `id`, when given, that is a non-empty string; ids must also be distinct.
 *
 * @example
 * ```ts
 * import { assertValidEvents } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assertValidEvents([{ type: "Opened", data: {} }]);
 * assert.throws(() => assertValidEvents([{ type: "", data: {} }]), TypeError);
 * ```
 */
export function assertValidEvents(events: readonly unknown[]): void {
  if (!Array.isArray(events)) {
    throw new TypeError(`Events must be an array, got ${describe(events)}`);
  }
  let withIds = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as { readonly type?: unknown; readonly id?: unknown };
    if (typeof event !== "object" || event === null) {
      throw new TypeError(`Event ${i} must be an object, got ${describe(event)}`);
    }
    if (typeof event.type !== "string" || event.type.length === 0) {
      throw new TypeError(
        `Event ${i} must have a non-empty string type, got ${describe(event.type)}`,
      );
    }
    if (event.id !== undefined) {
      if (typeof event.id !== "string" || event.id.length === 0) {
        throw new TypeError(
          `Event ${i} has an id that is not a non-empty string: ${describe(event.id)}`,
        );
      }
      withIds++;
    }
  }
  // Most appends carry one or a few events: only build a set when it pays.
  if (withIds > 1) {
    const ids = new Set<unknown>();
    for (const event of events as readonly { readonly id?: unknown }[]) {
      if (event.id === undefined) continue;
      if (ids.has(event.id)) {
        throw new TypeError(`Event id ${event.id} appears twice in one append`);
      }
      ids.add(event.id);
    }
  }
}

/**
 * Checks an expected version against a stream's actual version (0 when the
 * stream does not exist) and throws the matching conflict error.
 *
 * @throws {StreamNotFoundError} `"stream_exists"` on a missing stream.
 * @throws {ConcurrencyError} any other mismatch, with the real actual version.
 *
 * @example
 * ```ts
 * import { checkExpectedVersion, ConcurrencyError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * checkExpectedVersion("s", "any", 7);
 * checkExpectedVersion("s", 7, 7);
 * assert.throws(() => checkExpectedVersion("s", "no_stream", 7), ConcurrencyError);
 * ```
 */
export function checkExpectedVersion(
  streamId: string,
  expected: ExpectedVersion,
  actual: number,
): void {
  switch (expected) {
    case "any":
      return;
    case "no_stream":
      if (actual !== 0) throw new ConcurrencyError(streamId, expected, actual);
      return;
    case "stream_exists":
      if (actual === 0) throw new StreamNotFoundError(streamId);
      return;
    default:
      if (actual !== expected) {
        throw new ConcurrencyError(streamId, expected, actual);
      }
  }
}

/**
 * Validates {@linkcode ReadStreamOptions}, throwing a `RangeError` for a
 * `from` below 1 or a `limit` below 0, or for values that are not integers.
 *
 * @example
 * ```ts
 * import { assertValidReadStreamOptions } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assertValidReadStreamOptions({ from: 1, limit: 10 });
 * assert.throws(() => assertValidReadStreamOptions({ from: 0 }), RangeError);
 * ```
 */
export function assertValidReadStreamOptions(
  options: ReadStreamOptions | undefined,
): void {
  if (!options) return;
  if (options.from !== undefined) assertInteger("from", options.from, 1);
  if (options.limit !== undefined) assertInteger("limit", options.limit, 0);
  if (
    options.direction !== undefined && options.direction !== "forward" &&
    options.direction !== "backward"
  ) {
    throw new RangeError(
      `direction must be "forward" or "backward", got ${describe(options.direction)}`,
    );
  }
}

/**
 * Validates {@linkcode ReadAllOptions}, throwing a `RangeError` for an
 * `after` or `limit` below 0, or for values that are not integers.
 *
 * @example
 * ```ts
 * import { assertValidReadAllOptions } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assertValidReadAllOptions({ after: 0, limit: 100 });
 * assert.throws(() => assertValidReadAllOptions({ limit: 1.5 }), RangeError);
 * ```
 */
export function assertValidReadAllOptions(
  options: ReadAllOptions | undefined,
): void {
  if (!options) return;
  if (options.after !== undefined) assertInteger("after", options.after, 0);
  if (options.limit !== undefined) assertInteger("limit", options.limit, 0);
}

function assertInteger(name: string, value: unknown, min: number): void {
  if (
    typeof value !== "number" || !Number.isSafeInteger(value) || value < min
  ) {
    throw new RangeError(
      `${name} must be an integer >= ${min}, got ${describe(value)}`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : String(value);
}

/**
 * Validates a (multi-stream) append before a store touches anything: an
 * array of stream appends, each with a valid stream id (no stream twice),
 * valid events and a valid expected version. Returns how many events carry
 * a writer-chosen id, which a store needs to look up for idempotent retries.
 *
 * @throws {TypeError} for any invalid part, naming it.
 *
 * @example
 * ```ts
 * import { assertValidAppends } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const given = assertValidAppends([
 *   { streamId: "a", events: [{ type: "A", data: {}, id: "evt-1" }] },
 *   { streamId: "b", events: [{ type: "B", data: {} }], expectedVersion: "no_stream" },
 * ]);
 * assert.equal(given, 1);
 * assert.throws(() =>
 *   assertValidAppends([
 *     { streamId: "a", events: [] },
 *     { streamId: "a", events: [] },
 *   ]), TypeError);
 * ```
 */
export function assertValidAppends(appends: readonly StreamAppend[]): number {
  if (!Array.isArray(appends)) {
    throw new TypeError("appendToStreams() takes an array of stream appends");
  }
  let givenIds = 0;
  for (let i = 0; i < appends.length; i++) {
    const append = appends[i];
    assertValidStreamId(append.streamId);
    for (let j = 0; j < i; j++) {
      if (appends[j].streamId === append.streamId) {
        throw new TypeError(
          `Stream "${append.streamId}" appears twice in one multi-stream append`,
        );
      }
    }
    assertValidEvents(append.events);
    assertValidExpectedVersion(append.expectedVersion ?? "any");
    for (const event of append.events) if (event.id !== undefined) givenIds++;
  }
  return givenIds;
}

/**
 * Fixes the ids of an append's events (the writer's, or new UUIDv7s) and,
 * when the append carries a command-record builder, builds the record from
 * them. Stores call it once per append, so every retry of a commit writes
 * the same ids and the record names exactly the events written.
 *
 * @example
 * ```ts
 * import { planAppend } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const { ids, record } = planAppend(
 *   [{ streamId: "a", events: [{ type: "A", data: {}, id: "evt-1" }, { type: "B", data: {} }] }],
 *   {},
 * );
 * assert.equal(ids[0][0], "evt-1");
 * assert.equal(ids[0].length, 2);
 * assert.equal(record, undefined);
 * ```
 */
export function planAppend(
  appends: readonly StreamAppend[],
  options: Pick<AppendOptions, "commandRecord">,
): { ids: string[][]; record?: CommandRecord } {
  const ids = appends.map((append) => append.events.map((event) => event.id ?? uuidv7()));
  const record = options.commandRecord?.({
    eventIds: flatten(ids),
    streamIds: appends.filter((a) => a.events.length > 0).map((a) => a.streamId),
  });
  return { ids, record };
}

// The ids of all streams of an append in one new array. (V8's
// `Array.prototype.flat` is a slow generic builtin: it topped the profile of
// an audited command.)
function flatten(ids: readonly (readonly string[])[]): string[] {
  if (ids.length === 1) return ids[0].slice();
  const all: string[] = [];
  for (const streamIds of ids) for (const id of streamIds) all.push(id);
  return all;
}
