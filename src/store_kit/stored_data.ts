/**
 * verdict's data model, the one every store keeps: what an id may be, and
 * what event data and metadata may hold (JSON values). Stores check it at
 * append through `checkAppends`, so a value one store would change or
 * refuse is refused by all of them, before anything is written.
 *
 * @module
 */

import { EventDecodeError, MAX_ID_BYTES } from "../errors.ts";

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

/**
 * `text` with each NUL and each lone surrogate replaced by U+FFFD: what a
 * command log stores for text it cannot keep as it is.
 */
export function toStorableText(text: string): string {
  if (isStorableText(text)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i] + text[i + 1];
        i++;
      } else out += "\uFFFD";
    } else if ((code >= 0xdc00 && code <= 0xdfff) || code === 0) out += "\uFFFD";
    else out += text[i];
  }
  return out;
}

/** Whether `text` can be stored as it is: no NUL, no lone surrogate. */
export function isStorableText(text: string): boolean {
  return text.indexOf("\0") === -1 && isWellFormed(text);
}

/** What is wrong with a string as stored text, or `undefined`. */
export function stringProblem(text: string): string | undefined {
  if (isStorableText(text)) return undefined;
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
  // Walked without keeping ancestors: a cycle then shows as nesting past
  // the depth limit, and only then is the walk repeated, keeping them, to
  // tell a cycle from deep data and name the cycle's path.
  const found = walk(value, 0, undefined);
  if (found?.problem !== TOO_DEEP) return found;
  droppedUndefined = false;
  return walk(value, 0, []);
}

const TOO_DEEP = `values nest deeper than ${MAX_DATA_DEPTH} levels`;

/** Whether the last {@linkcode jsonProblem} met a property holding `undefined`. */
export function undefinedDropped(): boolean {
  return droppedUndefined;
}

function at(problem: string): DataProblem {
  return { path: [], problem };
}

function scalarProblem(value: unknown): DataProblem | undefined {
  switch (typeof value) {
    case "string":
      return isStorableText(value)
        ? undefined
        : at(`a string is refused: ${stringProblem(value)}`);
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
    default:
      return at("a function is not a JSON value");
  }
}

function walk(
  value: unknown,
  depth: number,
  ancestors: object[] | undefined,
): DataProblem | undefined {
  if (typeof value !== "object") return scalarProblem(value);
  if (value === null) return undefined;
  if (ancestors?.includes(value)) {
    return at("a cycle: the value contains itself, which JSON cannot hold");
  }
  if (depth >= MAX_DATA_DEPTH) return at(TOO_DEEP);
  let found: DataProblem | undefined;
  if (Array.isArray(value)) {
    ancestors?.push(value);
    for (let i = 0; i < value.length; i++) {
      found = i in value
        ? walk(value[i], depth + 1, ancestors)
        : at("an empty slot of a sparse array is not a JSON value");
      if (found) {
        found.path.unshift(i);
        break;
      }
    }
    ancestors?.pop();
    return found;
  }
  const prototype = Object.getPrototypeOf(value);
  // Plain objects, also from another realm (their prototype's prototype is null).
  if (
    prototype !== Object.prototype && prototype !== null &&
    Object.getPrototypeOf(prototype) !== null
  ) {
    return at(nonPlain(value));
  }
  ancestors?.push(value);
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const field = record[key];
    if (field === undefined) {
      if (Object.hasOwn(record, key)) droppedUndefined = true;
      continue;
    }
    if (!isStorableText(key)) {
      found = at(`the key is refused: ${stringProblem(key)}`);
    } else if (typeof field === "string") {
      // Most fields are text: checked here, without a call to walk.
      if (isStorableText(field)) continue;
      found = at(`a string is refused: ${stringProblem(field)}`);
    } else if (typeof field === "number") {
      if (Number.isFinite(field)) continue;
      found = scalarProblem(field);
    } else if (!Object.hasOwn(record, key)) {
      continue; // inherited (a polluted prototype): JSON would not see it
    } else found = walk(field, depth + 1, ancestors);
    if (found) {
      found.path.unshift(key);
      break;
    }
  }
  ancestors?.pop();
  return found;
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
 * import { storedEventProblem } from "@verdict/verdict/store-kit";
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
 * The events of one stream as a store read them, once checked that their
 * versions have no gap: a forward read from `from` must start at `from` and
 * go up by one, a backward read go down by one. A gap means a stored event
 * is missing, reported as an `EventDecodeError` naming the stream and the
 * missing version.
 *
 * @example
 * ```ts
 * import { EventDecodeError } from "@verdict/verdict";
 * import { assertStreamSequence } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * const at = (version: number) => ({ version });
 * assertStreamSequence([at(1), at(2), at(3)], "s", 1, "forward");
 * assertStreamSequence([at(5), at(4)], "s", 5, "backward");
 * assert.throws(
 *   () => assertStreamSequence([at(1), at(3)], "s", 1, "forward"),
 *   (error: unknown) => error instanceof EventDecodeError && error.version === 2,
 * );
 * ```
 */
export function assertStreamSequence<T extends { readonly version: number }>(
  events: readonly T[],
  streamId: string,
  from: number,
  direction: "forward" | "backward",
): void {
  if (events.length === 0) return;
  let missing: number | undefined;
  if (direction === "forward" && events[0].version !== from) missing = from;
  const step = direction === "forward" ? 1 : -1;
  for (let i = 1; missing === undefined && i < events.length; i++) {
    const expected = events[i - 1].version + step;
    if (events[i].version !== expected) missing = expected;
  }
  if (missing === undefined) return;
  throw new EventDecodeError(
    0,
    undefined,
    `version ${missing} is missing from the stream`,
    {
      streamId,
      version: missing,
    },
  );
}

/** Returned by {@linkcode copyJson} for a value it refused; see `copyProblem()`. */
export const UNSTORABLE: unique symbol = Symbol("unstorable");

let lastProblem: DataProblem | undefined;

/** Where and why the last {@linkcode copyJson} returned `UNSTORABLE`. */
export function copyProblem(): DataProblem {
  return lastProblem!;
}

/**
 * Checks `value` as {@linkcode jsonProblem} does and copies it in the same
 * walk: a deep copy without the properties that hold `undefined`, or
 * `UNSTORABLE` (then `copyProblem()` says where and why). For a store that
 * keeps its own copy of every event (the memory store): one walk instead of
 * a check and a copy.
 */
export function copyJson(value: unknown): unknown {
  droppedUndefined = false;
  if (typeof value !== "object" || value === null) {
    const problem = value === null ? undefined : scalarProblem(value);
    if (problem === undefined) return value;
    lastProblem = problem;
    return UNSTORABLE;
  }
  const copy = copyWalk(value, 0);
  if (copy === UNSTORABLE && lastProblem!.problem === TOO_DEEP) {
    // Deep data or a cycle: the checking walk tells which, and where.
    lastProblem = jsonProblem(value);
  }
  return copy;
}

function copyWalk(value: object, depth: number): unknown {
  if (depth >= MAX_DATA_DEPTH) {
    lastProblem = at(TOO_DEEP);
    return UNSTORABLE;
  }
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      let copied: unknown;
      if (!(i in value)) {
        lastProblem = at("an empty slot of a sparse array is not a JSON value");
        copied = UNSTORABLE;
      } else if (typeof item === "object" && item !== null) {
        copied = copyWalk(item, depth + 1);
      } else {
        const problem = item === null ? undefined : scalarProblem(item);
        if (problem) lastProblem = problem;
        copied = problem ? UNSTORABLE : item;
      }
      if (copied === UNSTORABLE) {
        lastProblem!.path.unshift(i);
        return UNSTORABLE;
      }
      copy[i] = copied;
    }
    return copy;
  }
  const prototype = Object.getPrototypeOf(value);
  if (
    prototype !== Object.prototype && prototype !== null &&
    Object.getPrototypeOf(prototype) !== null
  ) {
    lastProblem = at(nonPlain(value));
    return UNSTORABLE;
  }
  // Built key by key, not by spread: Node 20's V8 reads a frozen object
  // that a spread made many times slower than one built by assignment, and
  // the memory store freezes its copies. A "__proto__" key (JSON.parse makes
  // one) is defined, not assigned, so it stays a key.
  const copy: Record<string, unknown> = {};
  let dropped = false;
  for (const key in value) {
    // Inherited keys (a polluted prototype) are not the value's: not copied.
    if (!Object.hasOwn(value, key)) continue;
    let field = (value as Record<string, unknown>)[key];
    let problem: DataProblem | undefined;
    if (!isStorableText(key)) {
      problem = at(`the key is refused: ${stringProblem(key)}`);
    } else if (typeof field === "string") {
      if (!isStorableText(field)) {
        problem = at(`a string is refused: ${stringProblem(field)}`);
      }
    } else if (typeof field === "number") {
      if (!Number.isFinite(field)) problem = scalarProblem(field);
    } else if (field === undefined) {
      dropped = true;
      continue;
    } else if (typeof field === "object" && field !== null) {
      field = copyWalk(field, depth + 1);
      if (field === UNSTORABLE) problem = lastProblem;
    } else if (field !== null) {
      problem = scalarProblem(field);
    }
    if (problem) {
      lastProblem = problem;
      lastProblem.path.unshift(key);
      return UNSTORABLE;
    }
    if (key === "__proto__") {
      Object.defineProperty(copy, key, {
        value: field,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else copy[key] = field;
  }
  if (dropped) droppedUndefined = true;
  return copy;
}
