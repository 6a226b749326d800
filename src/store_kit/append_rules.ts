/**
 * The rules every store applies to an append before writing, shared so each
 * store reports bad input and conflicts the same way.
 *
 * @module
 */

import {
  ConcurrencyError,
  DuplicateEventIdError,
  type ExpectedVersion,
  InvalidIdError,
  StreamNotFoundError,
  UnstorableDataError,
} from "../errors.ts";
import { assertValidAppendCondition, assertValidTag } from "../event_query.ts";
import {
  idProblem,
  jsonProblem,
  undefinedDropped,
  withoutUndefined,
} from "./stored_data.ts";
import type {
  AppendOptions,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
} from "../event_store.ts";
import type { CommandRecord } from "../command_log.ts";
import type { NewEvent } from "../event.ts";
import { uuidv7 } from "../uuid.ts";

/**
 * Throws an {@linkcode InvalidIdError} unless `streamId` keeps the id rule of
 * every store: a non-empty, well-formed string without NUL, at most
 * {@linkcode MAX_ID_BYTES} bytes of UTF-8.
 *
 * @example
 * ```ts
 * import { InvalidIdError } from "@verdict/verdict";
 * import { assertValidStreamId } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidStreamId("account-1");
 * assert.throws(() => assertValidStreamId(""), InvalidIdError);
 * assert.throws(() => assertValidStreamId("a\u0000b"), InvalidIdError);
 * ```
 */
export function assertValidStreamId(streamId: unknown): asserts streamId is string {
  const problem = idProblem(streamId);
  if (problem !== undefined) throw new InvalidIdError("stream id", streamId, problem);
}

/**
 * Throws a `TypeError` unless `expected` is a valid expected version: an
 * integer ≥ 0 or one of `"no_stream"`, `"stream_exists"`, `"any"`.
 *
 * @example
 * ```ts
 * import { assertValidExpectedVersion } from "@verdict/verdict/store-kit";
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
 * Checks the events of one stream's append: each an object with a valid
 * `type` and, when given, a valid `id` (the id rule of
 * {@linkcode assertValidStreamId}), JSON `data`, and `metadata` that is a
 * plain object of JSON values; no id twice.
 *
 * @throws {TypeError} when `events` is not an array of objects.
 * @throws {InvalidIdError} for a type or id that breaks the id rule.
 * @throws {UnstorableDataError} for data or metadata that is not JSON.
 * @throws {DuplicateEventIdError} for an id given twice.
 *
 * @example
 * ```ts
 * import { InvalidIdError, UnstorableDataError } from "@verdict/verdict";
 * import { assertValidEvents } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidEvents([{ type: "Opened", data: {} }]);
 * assert.throws(() => assertValidEvents([{ type: "", data: {} }]), InvalidIdError);
 * assert.throws(
 *   () => assertValidEvents([{ type: "A", data: new Map() }], "s"),
 *   UnstorableDataError,
 * );
 * ```
 */
export function assertValidEvents(events: readonly unknown[], streamId = ""): void {
  // Tags are valid input: checked, not refused (that is a store's to say).
  checkEvents(events, streamId, {}, true, true);
}

/** Refuses tags a store does not keep, or that are not a list of valid tags. */
function checkTags(tags: unknown, streamId: string, index: number, kept: boolean): void {
  if (!kept) {
    throw new TypeError(
      `Event ${index} of stream ${
        JSON.stringify(streamId)
      } carries tags, which this store does not keep (every verdict store does)`,
    );
  }
  if (!Array.isArray(tags)) {
    throw new TypeError(
      `The tags of event ${index} of stream ${
        JSON.stringify(streamId)
      } must be a list, got ${describe(tags)}`,
    );
  }
  for (const tag of tags) assertValidTag(tag);
}

/**
 * Checks one stream's events (see {@linkcode assertValidEvents}); `seen`
 * collects the ids of the whole append. Returns how many ids were given and
 * whether some data held `undefined` fields to leave out.
 */
function checkEvents(
  events: readonly unknown[],
  streamId: string,
  seen: { first?: string; ids?: Set<string> },
  data = true,
  tags = false,
): { givenIds: number; dropsUndefined: boolean } {
  if (!Array.isArray(events)) {
    throw new TypeError(
      `The events of stream ${JSON.stringify(streamId)} must be an array, got ${
        describe(events)
      }`,
    );
  }
  let givenIds = 0;
  let dropsUndefined = false;
  // Events of one command usually share one metadata object: checked once.
  let checkedMetadata: unknown;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as {
      readonly type?: unknown;
      readonly id?: unknown;
      readonly data?: unknown;
      readonly metadata?: unknown;
      readonly tags?: unknown;
    };
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new TypeError(
        `Event ${i} of stream ${JSON.stringify(streamId)} must be an object, got ${
          describe(event)
        }`,
      );
    }
    const typeProblem = idProblem(event.type);
    if (typeProblem !== undefined) {
      throw new InvalidIdError("event type", event.type, typeProblem);
    }
    if (event.id !== undefined) {
      const problem = idProblem(event.id);
      if (problem !== undefined) throw new InvalidIdError("event id", event.id, problem);
      // Most appends give one id: a set is made for the second.
      const id = event.id as string;
      if (seen.first === undefined) seen.first = id;
      else {
        const ids = seen.ids ??= new Set([seen.first]);
        if (ids.has(id)) throw new DuplicateEventIdError(id, { withinAppend: true });
        ids.add(id);
      }
      givenIds++;
    }
    if (event.tags !== undefined) checkTags(event.tags, streamId, i, tags);
    if (!data) continue;
    let problem = jsonProblem(event.data);
    if (problem) {
      throw new UnstorableDataError(
        streamId,
        i,
        ["data", ...problem.path],
        problem.problem,
      );
    }
    dropsUndefined ||= undefinedDropped();
    const metadata = event.metadata;
    if (metadata !== undefined && metadata !== checkedMetadata) {
      if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
        throw new UnstorableDataError(
          streamId,
          i,
          ["metadata"],
          `metadata must be a plain object, got ${describe(metadata)}`,
        );
      }
      problem = jsonProblem(metadata);
      if (problem) {
        throw new UnstorableDataError(
          streamId,
          i,
          ["metadata", ...problem.path],
          problem.problem,
        );
      }
      dropsUndefined ||= undefinedDropped();
      checkedMetadata = metadata;
    }
  }
  return { givenIds, dropsUndefined };
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
 * import { ConcurrencyError } from "@verdict/verdict";
 * import { checkExpectedVersion } from "@verdict/verdict/store-kit";
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
 * `from` below 1 or a `limit` below 0, or for values that are not integers,
 * and the abort reason when its `signal` is aborted.
 *
 * @example
 * ```ts
 * import { assertValidReadStreamOptions } from "@verdict/verdict/store-kit";
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
  options.signal?.throwIfAborted();
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
 * `after` or `limit` below 0, or for values that are not integers, and the
 * abort reason when its `signal` is aborted.
 *
 * @example
 * ```ts
 * import { assertValidReadAllOptions } from "@verdict/verdict/store-kit";
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
  options.signal?.throwIfAborted();
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
 * valid events (see {@linkcode assertValidEvents}; no event id twice in the
 * whole append) and a valid expected version. Returns how many events carry
 * a writer-chosen id, which a store needs to look up for idempotent retries.
 *
 * @throws {TypeError} for a malformed append, naming the part.
 * @throws {InvalidIdError} for an id or type that breaks the id rule.
 * @throws {UnstorableDataError} for data or metadata that is not JSON.
 * @throws {DuplicateEventIdError} for one event id given twice.
 *
 * @example
 * ```ts
 * import { assertValidAppends } from "@verdict/verdict/store-kit";
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
  return checkAppends(appends, { queries: true }).givenIds;
}

/**
 * What {@linkcode checkAppends} found: the append as every store must write
 * it, and how many events carry a writer-chosen id.
 *
 * @example
 * ```ts
 * import { type CheckedAppends, checkAppends } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const checked: CheckedAppends = checkAppends([
 *   { streamId: "a", events: [{ type: "A", data: { note: undefined, n: 1 } }] },
 * ]);
 * assert.deepEqual(checked.appends[0].events[0].data, { n: 1 });
 * ```
 */
export interface CheckedAppends {
  /**
   * The appends to write: the ones given, or copies of them whose data
   * leaves out the object properties that hold `undefined`.
   */
  readonly appends: readonly StreamAppend[];
  /** How many events carry a writer-chosen id. */
  readonly givenIds: number;
}

/**
 * Options of {@linkcode checkAppends}.
 *
 * @example A store that checks data itself, as it copies it
 * ```ts
 * import { checkAppends, type CheckAppendsOptions } from "@verdict/verdict/store-kit";
 *
 * const options: CheckAppendsOptions = { data: false };
 * checkAppends([{ streamId: "s", events: [{ type: "A", data: {} }] }], options);
 * ```
 */
export interface CheckAppendsOptions {
  /**
   * Check event data and metadata too (default true). A store that copies
   * every event before writing (the memory store) passes false and checks
   * them in the same walk as its copy (`copyJson`), before its first write.
   */
  readonly data?: boolean;
  /** The append's `commandRecord`, if it has one. */
  readonly commandRecord?: AppendOptions["commandRecord"];
  /**
   * The store's command log: an append with a `commandRecord` on a store
   * without one is refused with a `TypeError`, as there is nothing to commit
   * the record with.
   */
  readonly commandLog?: unknown;
  /** The append's `condition`, if it has one: checked to be valid. */
  readonly condition?: AppendOptions["condition"];
  /**
   * Whether the store keeps event tags and checks append conditions
   * (default false): a store that does not refuses both with a `TypeError`,
   * rather than drop the tags or ignore the condition.
   */
  readonly queries?: boolean;
}

/**
 * Validates an append as {@linkcode assertValidAppends} does and returns it
 * in the form every store writes: data and metadata with the properties
 * that hold `undefined` left out, as JSON does, so a store that keeps values
 * as given (memory, KV, IndexedDB) stores what PostgreSQL's jsonb does.
 * Stores call it first, before they read or write anything.
 *
 * @example
 * ```ts
 * import { UnstorableDataError } from "@verdict/verdict";
 * import { checkAppends } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const { givenIds } = checkAppends([{ streamId: "s", events: [{ id: "e-1", type: "A", data: 1 }] }]);
 * assert.equal(givenIds, 1);
 * assert.throws(
 *   () => checkAppends([{ streamId: "s", events: [{ type: "A", data: 10n }] }]),
 *   UnstorableDataError,
 * );
 * ```
 */
export function checkAppends(
  appends: readonly StreamAppend[],
  options: CheckAppendsOptions = {},
): CheckedAppends {
  if (!Array.isArray(appends)) {
    throw new TypeError("appendToStreams() takes an array of stream appends");
  }
  let givenIds = 0;
  let dropsUndefined = false;
  // Ids are collected over the whole append, in a set made for the first.
  const seen: { first?: string; ids?: Set<string> } = {};
  for (let i = 0; i < appends.length; i++) {
    const append = appends[i];
    if (typeof append !== "object" || append === null) {
      throw new TypeError(
        `Stream append ${i} must be an object, got ${describe(append)}`,
      );
    }
    assertValidStreamId(append.streamId);
    for (let j = 0; j < i; j++) {
      if (appends[j].streamId === append.streamId) {
        throw new TypeError(
          `Stream "${append.streamId}" appears twice in one multi-stream append`,
        );
      }
    }
    const checked = checkEvents(
      append.events,
      append.streamId,
      seen,
      options.data ?? true,
      options.queries ?? false,
    );
    givenIds += checked.givenIds;
    dropsUndefined ||= checked.dropsUndefined;
    assertValidExpectedVersion(append.expectedVersion ?? "any");
  }
  if (options.commandRecord && !options.commandLog) {
    throw new TypeError("This store has no command log to commit a command record with");
  }
  if (options.condition !== undefined) {
    if (!options.queries) {
      throw new TypeError(
        "This store does not check append conditions (every verdict store does)",
      );
    }
    assertValidAppendCondition(options.condition);
  }
  if (!dropsUndefined) return { appends, givenIds };
  return {
    givenIds,
    appends: appends.map((append) => ({
      ...append,
      events: append.events.map((event: NewEvent) => {
        const copy = { ...event, data: withoutUndefined(event.data) };
        if (event.metadata !== undefined) {
          (copy as { metadata?: unknown }).metadata = withoutUndefined(event.metadata);
        }
        return copy;
      }),
    })),
  };
}

/**
 * Fixes the ids of an append's events (the writer's, or new UUIDv7s) and,
 * when the append carries a command-record builder, builds the record from
 * them. Stores call it once per append, so every retry of a commit writes
 * the same ids and the record names exactly the events written.
 *
 * @example
 * ```ts
 * import { planAppend } from "@verdict/verdict/store-kit";
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
