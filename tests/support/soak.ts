// How big the soak tests are. `deno task test` under CI (CI=true) and
// `VERDICT_SOAK=full` run them at full size; by default they are small, so a
// `deno test` while working stays quick. The figures they print say which.
// A browser page is told by its URL (`?soak=full`).
const setting = typeof Deno !== "undefined"
  ? Deno.env.get("VERDICT_SOAK") ?? (Deno.env.get("CI") === "true" ? "full" : "small")
  : new URLSearchParams(globalThis.location?.search).get("soak") ?? "small";
if (setting !== "full" && setting !== "small") {
  throw new Error(`VERDICT_SOAK must be "full" or "small", got "${setting}"`);
}

/** Whether the soak tests run at full size. */
export const fullSoak: boolean = setting === "full";

/** `full` when the soak tests run at full size, else `small`. */
export function soak(full: number, small: number): number {
  return fullSoak ? full : small;
}
