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

/** How many closing lines of a failed step are printed again at the end. */
const TAIL_LINES = 120;

/**
 * Runs the steps in order, printing a header per step and a closing summary.
 * A failed step's last lines (for `deno test`, its failures and their errors)
 * are printed again just before the summary, so a log cut to its end still
 * says why.
 */
export async function runSteps(
  title: string,
  steps: readonly Step[],
): Promise<boolean> {
  const failed: string[] = [];
  const tails: string[] = [];
  for (const step of steps) {
    console.log(`\n━━ ${title}: ${step.name}\n   $ deno ${step.args.join(" ")}`);
    const started = performance.now();
    const child = new Deno.Command(deno, {
      args: [...step.args],
      env: step.env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const tail = new Tail(TAIL_LINES);
    await Promise.all([
      relay(child.stdout, Deno.stdout, tail.stream()),
      relay(child.stderr, Deno.stderr, tail.stream()),
    ]);
    const { code } = await child.status;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `━━ ${step.name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${seconds}s`,
    );
    if (code !== 0) {
      failed.push(step.name);
      tails.push(`\n━━ ${title}: the last lines of "${step.name}"\n${tail.text()}`);
    }
  }
  for (const text of tails) console.log(text);
  console.log(`\n${title} steps:`);
  for (const step of steps) {
    console.log(`  ${failed.includes(step.name) ? "✗" : "✓"} ${step.name}`);
  }
  console.log(
    `${title}: ${steps.length - failed.length} passed, ${failed.length} failed`,
  );
  return failed.length === 0;
}

/** Copies a child's output through as it comes, keeping its last lines. */
async function relay(
  from: ReadableStream<Uint8Array>,
  to: { write(bytes: Uint8Array): Promise<number> },
  keep: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of from) {
    let written = 0;
    while (written < chunk.length) written += await to.write(chunk.subarray(written));
    keep(decoder.decode(chunk, { stream: true }));
  }
}

/**
 * The last `size` lines of a child's output. Each stream (stdout, stderr)
 * keeps its own unfinished line, so lines of the two never splice together.
 */
class Tail {
  readonly #size: number;
  #lines: string[] = [];
  readonly #partials: string[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** A writer for one stream of the child's output. */
  stream(): (text: string) => void {
    const index = this.#partials.push("") - 1;
    return (text) => {
      const lines = (this.#partials[index] + text).split("\n");
      this.#partials[index] = lines.pop() ?? "";
      this.#lines.push(...lines);
      if (this.#lines.length > this.#size * 2) {
        this.#lines = this.#lines.slice(-this.#size);
      }
    };
  }

  /** The kept lines, unfinished ones last. */
  text(): string {
    const unfinished = this.#partials.filter((line) => line !== "");
    return [...this.#lines, ...unfinished].slice(-this.#size).join("\n");
  }
}
