/**
 * What the alternating-rounds bench runners share: the rounds argument, a
 * timer and a median.
 */

/**
 * The number of rounds given as the first argument, else `fallback`. Exits
 * with a usage line when it is not an integer >= 1.
 */
export function roundsArgument(task: string, fallback: number): number {
  const rounds = Number(Deno.args[0] ?? fallback);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    console.error(`usage: deno task ${task} [rounds >= 1], got "${Deno.args[0]}"`);
    Deno.exit(2);
  }
  return rounds;
}

/** How long `fn` took, in ms. */
export async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** The median of `values` (the upper one of an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}
