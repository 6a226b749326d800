/**
 * Small assertions for the contract suites and the decider spec. They import
 * no test runner and no Node module, so the suites run in Deno, Node and a
 * browser page alike.
 *
 * @module
 */

/**
 * A contract or spec expectation did not hold.
 *
 * @example
 * ```ts
 * import { AssertionFailure } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new AssertionFailure("boom").name, "AssertionFailure");
 * ```
 */
export class AssertionFailure extends Error {
  /** Creates the failure with a message saying what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionFailure";
  }
}

/**
 * Throws unless `condition` is truthy.
 *
 * @example
 * ```ts
 * import { check } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * check(1 + 1 === 2, "arithmetic works");
 * assert.throws(() => check(false, "the store lost an event"), /lost an event/);
 * ```
 */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionFailure(message);
}

/**
 * Throws unless `actual` deeply equals `expected`.
 *
 * @example
 * ```ts
 * import { checkEqual } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * checkEqual({ versions: [1, 2] }, { versions: [1, 2] }, "versions");
 * assert.throws(
 *   () => checkEqual({ versions: [1, 3] }, { versions: [1, 2] }, "versions"),
 *   /versions: at versions\.1: got 3, expected 2/,
 * );
 * ```
 */
export function checkEqual(actual: unknown, expected: unknown, message: string): void {
  const difference = differ(actual, expected, "");
  if (difference !== undefined) {
    throw new AssertionFailure(`${message}: ${difference}`);
  }
}

/**
 * Resolves to the error `promise` rejects with; throws if it resolves.
 *
 * @example
 * ```ts
 * import { ConcurrencyError } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import { check, checkRejects } from "@verdict/verdict/testing";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("s", [{ type: "A", data: {} }]);
 * const error = await checkRejects(
 *   store.appendToStream("s", [{ type: "B", data: {} }], { expectedVersion: "no_stream" }),
 *   "a second creation",
 * );
 * check(error instanceof ConcurrencyError, "a conflict");
 * ```
 */
export async function checkRejects(
  promise: Promise<unknown>,
  message: string,
): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new AssertionFailure(`${message}: expected a rejection, but it resolved`);
}

function show(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function differ(actual: unknown, expected: unknown, path: string): string | undefined {
  const at = path || "(root)";
  if (Object.is(actual, expected)) return undefined;
  if (
    typeof actual !== "object" || typeof expected !== "object" ||
    actual === null || expected === null
  ) {
    return `at ${at}: got ${show(actual)}, expected ${show(expected)}`;
  }
  if (actual instanceof Date || expected instanceof Date) {
    return actual instanceof Date && expected instanceof Date &&
        actual.getTime() === expected.getTime()
      ? undefined
      : `at ${at}: got ${show(actual)}, expected ${show(expected)}`;
  }
  if (actual instanceof Uint8Array || expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array) || !(expected instanceof Uint8Array)) {
      return `at ${at}: got ${show(actual)}, expected ${show(expected)}`;
    }
    if (actual.length !== expected.length) {
      return `at ${at}: byte length ${actual.length}, expected ${expected.length}`;
    }
    for (let i = 0; i < actual.length; i++) {
      if (actual[i] !== expected[i]) return `at ${at}[${i}]: bytes differ`;
    }
    return undefined;
  }
  if (Array.isArray(actual) !== Array.isArray(expected)) {
    return `at ${at}: got ${Array.isArray(actual) ? "an array" : "an object"}`;
  }
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
  for (const key of keys) {
    const inA = Object.hasOwn(a, key) && a[key] !== undefined;
    const inE = Object.hasOwn(e, key) && e[key] !== undefined;
    const childPath = path ? `${path}.${key}` : key;
    if (inA !== inE) {
      return inA
        ? `at ${childPath}: unexpected ${show(a[key])}`
        : `at ${childPath}: missing, expected ${show(e[key])}`;
    }
    if (!inA) continue;
    const difference = differ(a[key], e[key], childPath);
    if (difference !== undefined) return difference;
  }
  return undefined;
}
