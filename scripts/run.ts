/**
 * Runs one command of the project's tasks, streaming its output, and tells
 * whether it passed. Shared by the check and test runners.
 */

/** The Deno executable running this script, so npx-launched Deno calls itself. */
export const deno: string = Deno.execPath();

/** One step of a runner. */
export interface Step {
  /** What the step proves, in a few words. */
  readonly name: string;
  /** The Deno subcommand and its arguments. */
  readonly args: readonly string[];
  /** Extra environment for the step. */
  readonly env?: Record<string, string>;
}

/** Runs the steps in order, printing a header per step and a closing summary. */
export async function runSteps(
  title: string,
  steps: readonly Step[],
): Promise<boolean> {
  const failed: string[] = [];
  for (const step of steps) {
    console.log(`\n━━ ${title}: ${step.name}\n   $ deno ${step.args.join(" ")}`);
    const started = performance.now();
    const { code } = await new Deno.Command(deno, {
      args: [...step.args],
      env: step.env,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `━━ ${step.name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${seconds}s`,
    );
    if (code !== 0) failed.push(step.name);
  }
  console.log(`\n${title} steps:`);
  for (const step of steps) {
    console.log(`  ${failed.includes(step.name) ? "✗" : "✓"} ${step.name}`);
  }
  console.log(
    `${title}: ${steps.length - failed.length} passed, ${failed.length} failed`,
  );
  return failed.length === 0;
}
