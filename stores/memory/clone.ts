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
    // Spread defines the copy's own properties: a "__proto__" key (JSON.parse
    // makes one) stays a key. Assigning `copy[key] = value` would set the
    // copy's prototype instead wherever Object.prototype.__proto__ exists
    // (Node, browsers), and lose the key. The spread is also V8's fastest
    // copy; nested objects are then replaced by their copies, which assigns
    // to an own property and so never reaches a prototype.
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const key in copy) {
      const field = copy[key];
      if (typeof field === "object" && field !== null && Object.hasOwn(copy, key)) {
        copy[key] = cloneData(field);
      }
    }
    return copy as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  return structuredClone(value);
}
