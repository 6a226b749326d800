/**
 * Queries over events by type and tag, and the append conditions built on
 * them: the Dynamic Consistency Boundary model (dcb.events). A command reads
 * exactly the events its rule needs, whatever their streams, and appends on
 * the condition that no event matching the same query appeared since.
 *
 * @module
 */

import { InvalidIdError } from "./errors.ts";
import { idProblem } from "./store_kit/stored_data.ts";

/**
 * One item of an {@linkcode EventQuery}: an event matches it when its type is
 * one of `types` (any type when absent) and it carries every tag of `tags`
 * (no tag needed when absent). An item names types, tags, or both.
 *
 * @example
 * ```ts
 * import type { EventQueryItem } from "@verdict/verdict";
 *
 * // Subscriptions to course c-1, whoever the student.
 * const item: EventQueryItem = { types: ["StudentSubscribed"], tags: ["course:c-1"] };
 * ```
 */
export interface EventQueryItem {
  /** The event types that match; absent: every type. */
  readonly types?: readonly string[];
  /** Tags an event must all carry to match; absent: none. */
  readonly tags?: readonly string[];
}

/**
 * Which events a command's rule depends on: `"all"`, or a list of items, of
 * which an event must match at least one.
 *
 * @example
 * ```ts
 * import { type EventQuery, eventMatchesQuery } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const course: EventQuery = [
 *   { types: ["CourseDefined", "CourseCapacityChanged"], tags: ["course:c-1"] },
 *   { types: ["StudentSubscribed"], tags: ["course:c-1"] },
 * ];
 * assert.ok(eventMatchesQuery(
 *   { type: "StudentSubscribed", tags: ["course:c-1", "student:s-9"] },
 *   course,
 * ));
 * assert.ok(!eventMatchesQuery({ type: "StudentSubscribed", tags: ["course:c-2"] }, course));
 * ```
 */
export type EventQuery = "all" | readonly EventQueryItem[];

/**
 * The condition of a conditional append: it commits nothing, and fails with
 * an `AppendConditionError`, when an event matching `failIfEventsMatch` has
 * a position greater than `after` (the head a read of the query returned).
 *
 * @example
 * ```ts
 * import type { AppendCondition } from "@verdict/verdict";
 *
 * const condition: AppendCondition = {
 *   failIfEventsMatch: [{ types: ["UsernameClaimed"], tags: ["username:ada"] }],
 *   after: 41,
 * };
 * ```
 */
export interface AppendCondition {
  /** The query whose new matches make the append fail. */
  readonly failIfEventsMatch: EventQuery;
  /** The position up to which the caller has seen every matching event. */
  readonly after: number;
}

/**
 * Whether `event` matches `query` (see {@linkcode EventQueryItem}).
 *
 * @example
 * ```ts
 * import { eventMatchesQuery } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.ok(eventMatchesQuery({ type: "A" }, "all"));
 * assert.ok(eventMatchesQuery({ type: "A", tags: ["x", "y"] }, [{ tags: ["y"] }]));
 * assert.ok(!eventMatchesQuery({ type: "A", tags: ["x"] }, [{ types: ["B"] }]));
 * ```
 */
export function eventMatchesQuery(
  event: { readonly type: string; readonly tags?: readonly string[] },
  query: EventQuery,
): boolean {
  if (query === "all") return true;
  for (const item of query) {
    if (item.types !== undefined && !item.types.includes(event.type)) continue;
    const tags = item.tags;
    if (tags === undefined || tags.length === 0) return true;
    const carried = event.tags;
    if (carried === undefined) continue;
    let all = true;
    for (const tag of tags) {
      if (!carried.includes(tag)) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

/**
 * Throws unless `query` is `"all"` or a non-empty list of items, each naming
 * a non-empty list of valid types, of valid tags, or both (`TypeError`; an
 * invalid type or tag is an `InvalidIdError`).
 *
 * @example
 * ```ts
 * import { assertValidEventQuery } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidEventQuery([{ types: ["A"], tags: ["t"] }]);
 * assert.throws(() => assertValidEventQuery([]), TypeError);
 * assert.throws(() => assertValidEventQuery([{}]), TypeError);
 * ```
 */
export function assertValidEventQuery(query: unknown): asserts query is EventQuery {
  if (query === "all") return;
  if (!Array.isArray(query) || query.length === 0) {
    throw new TypeError(
      `A query is "all" or a non-empty list of items, got ${describeQueryPart(query)}`,
    );
  }
  for (let i = 0; i < query.length; i++) {
    const item = query[i] as EventQueryItem;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new TypeError(
        `Query item ${i} must be an object, got ${describeQueryPart(item)}`,
      );
    }
    if (item.types === undefined && item.tags === undefined) {
      throw new TypeError(
        `Query item ${i} names neither types nor tags; to match every event, query "all"`,
      );
    }
    for (const [part, what] of [["types", "event type"], ["tags", "tag"]] as const) {
      const values = item[part];
      if (values === undefined) continue;
      if (!Array.isArray(values) || values.length === 0) {
        throw new TypeError(
          `The ${part} of query item ${i} must be a non-empty list, got ${
            describeQueryPart(values)
          }`,
        );
      }
      for (const value of values) assertValidName(value, what);
    }
  }
}

/**
 * Throws an `InvalidIdError` unless `tag` is a valid tag: the rules of stream
 * ids (a non-empty, well-formed string without NUL, at most 1,024 bytes of
 * UTF-8).
 *
 * @example
 * ```ts
 * import { InvalidIdError } from "@verdict/verdict";
 * import { assertValidTag } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidTag("course:c-1");
 * assert.throws(() => assertValidTag(""), InvalidIdError);
 * ```
 */
export function assertValidTag(tag: unknown): asserts tag is string {
  assertValidName(tag, "tag");
}

/** Throws an `InvalidIdError` unless `value` is a valid tag or event type. */
function assertValidName(value: unknown, what: string): void {
  const problem = idProblem(value);
  if (problem !== undefined) throw new InvalidIdError(what, value, problem);
}

/**
 * Throws unless `condition` is an {@linkcode AppendCondition}: a valid query
 * and a position (an integer >= 0).
 *
 * @example
 * ```ts
 * import { assertValidAppendCondition } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidAppendCondition({ failIfEventsMatch: "all", after: 0 });
 * assert.throws(() => assertValidAppendCondition({ failIfEventsMatch: "all", after: -1 }));
 * ```
 */
export function assertValidAppendCondition(
  condition: unknown,
): asserts condition is AppendCondition {
  if (typeof condition !== "object" || condition === null) {
    throw new TypeError(
      `An append condition is { failIfEventsMatch, after }, got ${
        describeQueryPart(condition)
      }`,
    );
  }
  const { failIfEventsMatch, after } = condition as AppendCondition;
  assertValidEventQuery(failIfEventsMatch);
  if (typeof after !== "number" || !Number.isSafeInteger(after) || after < 0) {
    throw new RangeError(
      `An append condition's "after" must be a position (an integer >= 0), got ${
        describeQueryPart(after)
      }`,
    );
  }
}

function describeQueryPart(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  return typeof value === "object" ? "an object" : String(value);
}

/**
 * Throws unless `options` are valid `readQuery` options: `after`, when
 * given, a position (an integer >= 0).
 *
 * @example
 * ```ts
 * import { assertValidReadQueryOptions } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assertValidReadQueryOptions({ after: 12 });
 * assert.throws(() => assertValidReadQueryOptions({ after: -1 }), RangeError);
 * ```
 */
export function assertValidReadQueryOptions(options: { readonly after?: unknown }): void {
  const after = options.after;
  if (
    after !== undefined &&
    (typeof after !== "number" || !Number.isSafeInteger(after) || after < 0)
  ) {
    throw new RangeError(
      `readQuery's "after" must be a position (an integer >= 0), got ${
        describeQueryPart(after)
      }`,
    );
  }
}
