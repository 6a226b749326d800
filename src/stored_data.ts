/**
 * verdict's data model, the one every store keeps: what an id may be, and
 * what event data and metadata may hold (JSON values). Stores check it at
 * append through `checkAppends`, so a value one store would change or
 * refuse is refused by all of them, before anything is written.
 *
 * @module
 */

import { MAX_ID_BYTES } from "./errors.ts";

/** Deeper nesting than this is refused (a guard against runaway recursion). */
export const MAX_DATA_DEPTH = 256;

/** Where a value breaks the data model, and how. */
export interface DataProblem {
  /** The path from the checked value down to the offending one. */
  readonly path: (string | number)[];
  /** What is wrong, in words. */
  readonly problem: string;
}

const hasWellFormed = typeof (String.prototype as { isWellFormed?: unknown })
  .isWellFormed === "function";
const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isWellFormed(text: string): boolean {
  return hasWellFormed
    ? (text as unknown as { isWellFormed(): boolean }).isWellFormed()
    : !LONE_SURROGATE.test(text);
}

/** What is wrong with a string as stored text, or `undefined`. */
export function stringProblem(text: string): string | undefined {
  if (text.indexOf("\0") !== -1) {
    return "it holds a NUL character (\\u0000), which not every store can keep";
  }
  if (!isWellFormed(text)) {
    return "it holds a lone surrogate: it is not well-formed Unicode";
  }
  return undefined;
}

/** The number of bytes `text` takes as UTF-8 (a lone surrogate counts 3, as U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (
      code >= 0xd800 && code <= 0xdbff && i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * What is wrong with `id` as a stream id, event id, event type or command
 * id, or `undefined` when it is fine: it must be a non-empty, well-formed
 * string without NUL, at most `MAX_ID_BYTES` bytes of UTF-8.
 */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return "is not a string";
  if (id.length === 0) return "is empty";
  // Three bytes per UTF-16 unit at the most: short ids need no count.
  if (id.length * 3 > MAX_ID_BYTES) {
    const bytes = utf8Length(id);
    if (bytes > MAX_ID_BYTES) return `takes ${bytes} bytes of UTF-8`;
  }
  const problem = stringProblem(id);
  return problem === undefined ? undefined : `is refused: ${problem}`;
}

/** Set during a walk when an object property holding `undefined` was met. */
let droppedUndefined = false;

/**
 * The first place where `value` is not a JSON value verdict stores, or
 * `undefined`. `undefinedDropped` tells afterwards whether an object
 * property holding `undefined` was met (it is left out when stored).
 */
export function jsonProblem(value: unknown): DataProblem | undefined {
  droppedUndefined = false;
  return walk(value, 0, []);
}

/** Whether the last {@linkcode jsonProblem} met a property holding `undefined`. */
export function undefinedDropped(): boolean {
  return droppedUndefined;
}

function at(problem: string): DataProblem {
  return { path: [], problem };
}

function walk(
  value: unknown,
  depth: number,
  ancestors: object[],
): DataProblem | undefined {
  switch (typeof value) {
    case "string": {
      const problem = stringProblem(value);
      return problem === undefined ? undefined : at(`a string is refused: ${problem}`);
    }
    case "number":
      return Number.isFinite(value)
        ? undefined
        : at(`${value} is not a JSON number (JSON would turn it into null)`);
    case "boolean":
      return undefined;
    case "undefined":
      return at("undefined is not a JSON value (use null, or leave the field out)");
    case "bigint":
      return at("a BigInt is not a JSON value (store it as a string)");
    case "symbol":
      return at("a symbol is not a JSON value");
    case "function":
      return at("a function is not a JSON value");
  }
  if (value === null) return undefined;
  const object = value as object;
  if (depth >= MAX_DATA_DEPTH) {
    return at(`values nest deeper than ${MAX_DATA_DEPTH} levels`);
  }
  if (ancestors.includes(object)) {
    return at("a cycle: the value contains itself, which JSON cannot hold");
  }
  if (Array.isArray(object)) {
    ancestors.push(object);
    for (let i = 0; i < object.length; i++) {
      const found = i in object
        ? walk(object[i], depth + 1, ancestors)
        : at("an empty slot of a sparse array is not a JSON value");
      if (found) {
        ancestors.pop();
        found.path.unshift(i);
        return found;
      }
    }
    ancestors.pop();
    return undefined;
  }
  const prototype = Object.getPrototypeOf(object);
  // Plain objects, also from another realm (their prototype's prototype is null).
  if (
    prototype !== Object.prototype && prototype !== null &&
    Object.getPrototypeOf(prototype) !== null
  ) {
    return at(nonPlain(object));
  }
  ancestors.push(object);
  const record = object as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    const field = record[key];
    let found: DataProblem | undefined;
    if (field === undefined) {
      droppedUndefined = true;
      continue;
    }
    const keyProblem = stringProblem(key);
    if (keyProblem !== undefined) found = at(`the key is refused: ${keyProblem}`);
    else found = walk(field, depth + 1, ancestors);
    if (found) {
      ancestors.pop();
      found.path.unshift(key);
      return found;
    }
  }
  ancestors.pop();
  return undefined;
}

function nonPlain(object: object): string {
  if (object instanceof Date) {
    return "a Date is not a JSON value (store date.toISOString() or a number)";
  }
  if (object instanceof Map) {
    return "a Map is not a JSON value (store an object or an array of entries)";
  }
  if (object instanceof Set) return "a Set is not a JSON value (store an array)";
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) {
    return "binary data is not a JSON value (store it as base64 text)";
  }
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  return `${
    typeof name === "string" && name
      ? `an instance of ${name}`
      : "an object with a prototype"
  } is not a plain object: store its fields as a plain object`;
}

/**
 * A copy of a JSON value without the object properties that hold
 * `undefined` (what `JSON.stringify` leaves out), for stores that keep
 * values as they are (structured clone) to store what the others do.
 */
export function withoutUndefined<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  // Spread defines own properties: a "__proto__" key stays a key.
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of Object.keys(copy)) {
    const field = copy[key];
    if (field === undefined) delete copy[key];
    else if (typeof field === "object" && field !== null) {
      copy[key] = withoutUndefined(field);
    }
  }
  return copy as T;
}

/**
 * What is wrong with an event as a store read it back, or `undefined` when
 * it is whole: a non-empty string id and type, data present, metadata a
 * plain object, a version that is a positive integer. Stores call it on
 * every event they decode and raise an `EventDecodeError` with the answer,
 * so damaged storage is never returned as if it were an event.
 *
 * @example
 * ```ts
 * import { storedEventProblem } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const whole = { id: "e-1", type: "A", data: {}, metadata: {}, version: 1 };
 * assert.equal(storedEventProblem(whole), undefined);
 * assert.match(storedEventProblem({ ...whole, metadata: [] })!, /metadata/);
 * ```
 */
export function storedEventProblem(event: {
  readonly id?: unknown;
  readonly type?: unknown;
  readonly data?: unknown;
  readonly metadata?: unknown;
  readonly version?: unknown;
}): string | undefined {
  if (typeof event.id !== "string" || event.id.length === 0) {
    return `its id is ${describeStored(event.id)}, not a non-empty string`;
  }
  if (typeof event.type !== "string" || event.type.length === 0) {
    return `its type is ${describeStored(event.type)}, not a non-empty string`;
  }
  if (event.data === undefined) return "its data is missing";
  const metadata = event.metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    return `its metadata is ${describeStored(metadata)}, not an object`;
  }
  const version = event.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    return `its version is ${describeStored(version)}, not an integer >= 1`;
  }
  return undefined;
}

function describeStored(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  return typeof value === "object" ? "an object" : String(value);
}

/**
 * Where a stream's events as read break the sequence of versions, or
 * `undefined`: a forward read from `from` must start at `from` and go up by
 * one; a backward read must go down by one. A gap means a stored event is
 * missing. Returns the version that was expected where the sequence breaks.
 *
 * @example
 * ```ts
 * import { streamSequenceGap } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.equal(streamSequenceGap([1, 2, 3], 1, "forward"), undefined);
 * assert.equal(streamSequenceGap([1, 3], 1, "forward"), 2);
 * assert.equal(streamSequenceGap([2, 3], 1, "forward"), 1);
 * assert.equal(streamSequenceGap([5, 3], 5, "backward"), 4);
 * ```
 */
export function streamSequenceGap(
  versions: readonly number[],
  from: number,
  direction: "forward" | "backward",
): number | undefined {
  if (versions.length === 0) return undefined;
  if (direction === "forward") {
    if (versions[0] !== from) return from;
    for (let i = 1; i < versions.length; i++) {
      if (versions[i] !== versions[i - 1] + 1) return versions[i - 1] + 1;
    }
    return undefined;
  }
  for (let i = 1; i < versions.length; i++) {
    if (versions[i] !== versions[i - 1] - 1) return versions[i - 1] - 1;
  }
  return undefined;
}
