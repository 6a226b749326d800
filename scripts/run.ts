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
  const counts = new Map<string, Counts>();
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
    counts.set(step.name, countsIn(tail.all()));
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
  let skippedTotal = 0;
  const reasons = new Set<string>();
  for (const step of steps) {
    const found = counts.get(step.name) ?? { ...NONE, reasons: [] };
    skippedTotal += found.skipped;
    for (const reason of found.reasons) reasons.add(reason);
    const tally = found.passed + found.failed + found.skipped > 0
      ? ` — ${found.passed} passed, ${found.failed} failed, ${found.skipped} skipped`
      : "";
    console.log(`  ${failed.includes(step.name) ? "✗" : "✓"} ${step.name}${tally}`);
  }
  for (const reason of reasons) console.log(`  ⚠ ${reason}`);
  // A skipped test proves nothing: on CI, where everything is installed, it fails the run.
  const skipFails = skippedTotal > 0 && Deno.env.get("CI") === "true";
  if (skipFails) {
    console.log(
      `  ✗ CI=true: ${skippedTotal} tests were skipped, and CI must skip nothing`,
    );
  }
  console.log(
    `${title}: ${
      steps.length - failed.length
    } passed, ${failed.length} failed, ${skippedTotal} skipped`,
  );
  return failed.length === 0 && !skipFails;
}

const NONE = { passed: 0, failed: 0, skipped: 0 };

/** What a step's tests came to, from the runners' own closing lines. */
export interface Counts {
  /** Tests passed (Deno's "passed", Node's "ℹ pass"). */
  readonly passed: number;
  /** Tests failed. */
  readonly failed: number;
  /**
   * Tests or cases skipped: Deno's "ignored" and Node's "skipped", or, where
   * a step reports no such count, each distinct "⚠ SKIPPING …" warning.
   */
  readonly skipped: number;
  /** The loud "SKIPPING …" lines, each once. */
  readonly reasons: readonly string[];
}

/** The counts of a step's output (see {@linkcode Counts}). */
export function countsIn(lines: readonly string[]): Counts {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const reasons = new Set<string>();
  for (const raw of lines) {
    // deno-lint-ignore no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*m/g, "").trim();
    if (/^(ok|FAILED) \|/.test(line)) {
      passed += Number(/\|\s*(\d+) passed\b/.exec(line)?.[1] ?? 0);
      failed += Number(/\|\s*(\d+) failed\b/.exec(line)?.[1] ?? 0);
      skipped += Number(/\|\s*(\d+) ignored\b/.exec(line)?.[1] ?? 0);
    }
    const node = /^ℹ (pass|fail|skipped) (\d+)$/.exec(line);
    if (node) {
      const n = Number(node[2]);
      if (node[1] === "pass") passed += n;
      else if (node[1] === "fail") failed += n;
      else skipped += n;
    }
    const warning = /⚠\s*(SKIPPING.*)$/.exec(line);
    if (warning) reasons.add(warning[1].trim());
  }
  return {
    passed,
    failed,
    skipped: Math.max(skipped, reasons.size),
    reasons: [...reasons],
  };
}

/** Tests a step left out, and the reasons it printed. */
export interface Skips {
  /** How many tests or cases were skipped (Deno's "ignored", Node's "skipped"). */
  readonly count: number;
  /** The loud "SKIPPING …" lines, each once. */
  readonly reasons: readonly string[];
}

/**
 * The skips in a step's output: Deno's closing `| N ignored`, Node's
 * `ℹ skipped N`, and the suites' own `⚠ SKIPPING …` warnings.
 */
export function skipsIn(lines: readonly string[]): Skips {
  const { skipped, reasons } = countsIn(lines);
  return { count: skipped, reasons };
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
  /** Lines that may tell of a skip, all of them (few). */
  readonly #notable: string[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** A writer for one stream of the child's output. */
  stream(): (text: string) => void {
    const index = this.#partials.push("") - 1;
    return (text) => {
      const lines = (this.#partials[index] + text).split("\n");
      this.#partials[index] = lines.pop() ?? "";
      for (const line of lines) {
        if (/ignored|passed|ℹ (pass|fail|skipped)|SKIPPING/.test(line)) {
          this.#notable.push(line);
        }
      }
      this.#lines.push(...lines);
      if (this.#lines.length > this.#size * 2) {
        this.#lines = this.#lines.slice(-this.#size);
      }
    };
  }

  /** Every line that may tell of a skip, and the unfinished ones. */
  all(): string[] {
    return [...this.#notable, ...this.#partials.filter((line) => line !== "")];
  }

  /** The kept lines, unfinished ones last. */
  text(): string {
    const unfinished = this.#partials.filter((line) => line !== "");
    return [...this.#lines, ...unfinished].slice(-this.#size).join("\n");
  }
}
