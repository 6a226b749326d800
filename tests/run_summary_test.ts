// deno-only: tests the task runner (scripts/run.ts), which runs on Deno.
// `deno task test` counts what each step skipped, from the runners' own lines.
import assert from "node:assert/strict";
import { countsIn, skipsIn } from "../scripts/run.ts";

Deno.test("skipsIn counts Deno's ignored tests, Node's skipped ones and the suites' warnings", () => {
  const lines = [
    "\u001b[33m⚠ SKIPPING browser tests: no Chromium found (apt-get install -y chromium).\u001b[0m",
    "\u001b[0m\u001b[32mok\u001b[0m | 397 passed (1262 steps) | 0 failed | 2 ignored \u001b[38;5;245m(1m31s)\u001b[0m",
    "a test whose name says 2 ignored ... ok",
    "ℹ skipped 3",
    "⚠ SKIPPING browser tests: no Chromium found (apt-get install -y chromium).",
  ];
  assert.deepEqual(skipsIn(lines), {
    count: 5,
    reasons: ["SKIPPING browser tests: no Chromium found (apt-get install -y chromium)."],
  });
});

Deno.test("skipsIn finds nothing in a run that skipped nothing", () => {
  assert.deepEqual(
    skipsIn(["ok | 399 passed (1265 steps) | 0 failed (1m30s)", "ℹ skipped 0"]),
    { count: 0, reasons: [] },
  );
});

Deno.test("countsIn adds up passed, failed and skipped from Deno's and Node's closing lines", () => {
  const counts = countsIn([
    "\u001b[0m\u001b[32mok\u001b[0m | 446 passed (1480 steps) | 0 failed \u001b[38;5;245m(1m52s)\u001b[0m",
    "FAILED | 9 passed | 2 failed | 1 ignored (1s)",
    "ℹ pass 869",
    "ℹ fail 1",
    "ℹ skipped 0",
    "a test named 3 passed ... ok",
  ]);
  assert.deepEqual(counts, { passed: 1324, failed: 3, skipped: 1, reasons: [] });
});

Deno.test("countsIn counts a step's SKIPPING warnings as skips where it reports no count", () => {
  const counts = countsIn([
    "⚠ SKIPPING the guide's PostgreSQL step: DATABASE_URL is not set.",
    "⚠ SKIPPING the README's browser quick start: no Chromium.",
    "quick starts: 2 skipped as the README and guide say",
  ]);
  assert.equal(counts.skipped, 2);
  assert.equal(counts.reasons.length, 2);
});
