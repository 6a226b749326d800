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

const root = new URL("../../", import.meta.url);

/**
 * Runs a probe (`command` with `args`, in the repository's root) and
 * returns the JSON of the last line it prints; its errors go to ours.
 */
export async function runProbe<T>(command: string, args: string[]): Promise<T> {
  const { success, stdout } = await new Deno.Command(command, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error(`${command} ${args.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
}

/** Builds the npm package (`deno task build:npm --no-test`) when it is not there. */
export async function ensureNpmBuild(): Promise<void> {
  try {
    await Deno.stat(new URL("npm/mod.js", root));
    return;
  } catch {
    console.log("building the npm package first (deno task build:npm --no-test)…");
  }
  const { success } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/build_npm.ts", "--no-test"],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new Error("the npm build failed");
}
