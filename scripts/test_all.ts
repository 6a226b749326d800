/**
 * `deno task test`: every suite the project has, in one command — the
 * checks, the Deno tests (core, memory stores, contract suites, doc
 * examples), the demo, the npm build with its tests under Node, and the JSR
 * publish dry-run.
 */
import { runSteps } from "./run.ts";

const ok = await runSteps("test", [
  {
    name: "check: fmt, lint, types, docs, browser-safe core",
    args: ["run", "-A", "scripts/check.ts"],
  },
  {
    name: "deno tests and doc examples",
    args: ["test", "-A", "--doc", "--parallel"],
  },
  { name: "demo runs", args: ["run", "-A", "scripts/demo.ts"] },
  {
    name: "npm build: tests under Node, ESM and TypeScript consumers",
    args: ["run", "-A", "scripts/build_npm.ts"],
  },
  { name: "JSR publish dry-run", args: ["publish", "--dry-run", "--allow-dirty"] },
]);
if (!ok) Deno.exit(1);
