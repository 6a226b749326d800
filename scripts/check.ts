/**
 * `deno task check`: formatting, lint, types, docs, and proof that the core
 * is browser-safe (it type-checks with the DOM library and no Deno types).
 */
import { runSteps } from "./run.ts";

const config = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
);
const entryPoints: string[] = Object.values(config.exports);

const ok = await runSteps("check", [
  { name: "formatting", args: ["fmt", "--check"] },
  { name: "lint (recommended + jsr)", args: ["lint"] },
  { name: "types", args: ["check", "."] },
  { name: "public docs", args: ["doc", "--lint", ...entryPoints] },
  {
    name: "no import cycle, no upward import between folders",
    args: ["run", "-A", "scripts/import_check.ts"],
  },
  {
    name: "Markdown links resolve (READMEs, docs/, bench/)",
    args: ["run", "-A", "scripts/link_check.ts"],
  },
  {
    name: "every public symbol has JSDoc with an @example",
    args: ["run", "-A", "scripts/doc_check.ts"],
  },
  {
    name:
      "core, memory, IndexedDB and browser entries are browser-safe (DOM lib, no Deno types)",
    args: [
      "check",
      "--config",
      "scripts/browser_check.json",
      "mod.ts",
      "src/testing/mod.ts",
      "src/store_kit/mod.ts",
      "stores/memory/mod.ts",
      "stores/indexeddb/mod.ts",
      "browser/mod.ts",
      "src/sync/mod.ts",
      "stores/dexie/mod.ts",
    ],
  },
]);
if (!ok) Deno.exit(1);
