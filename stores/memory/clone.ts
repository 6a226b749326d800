/**
 * Deep copies of event and record data, so callers can never mutate what the
 * memory stores hold. Plain JSON-like data (the common case) is copied by a
 * fast path; anything else goes through `structuredClone`.
 *
 * @module
 */

export function cloneData<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = cloneData(value[i]);
    return copy as T;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    const copy: Record<string, unknown> = {};
    for (const key in value) {
      if (Object.hasOwn(value, key)) {
        copy[key] = cloneData((value as Record<string, unknown>)[key]);
      }
    }
    return copy as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  return structuredClone(value);
}
