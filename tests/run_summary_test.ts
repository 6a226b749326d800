// deno-only: tests the task runner (scripts/run.ts), which runs on Deno.
// `deno task test` counts what each step skipped, from the runners' own lines.
import assert from "node:assert/strict";
import { skipsIn } from "../scripts/run.ts";

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
