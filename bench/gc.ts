/**
 * Collects garbage between bench iterations when V8 exposes `gc`
 * (`--v8-flags=--expose-gc`), so one iteration's leftovers are not billed to
 * the next. Without the flag it does nothing.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
