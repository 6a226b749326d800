/**
 * A store left open does not keep the process alive once its work is done:
 * memory, IndexedDB (on fake-indexeddb) and Deno KV, in Deno and in Node
 * (this file runs in both; PostgreSQL's case is in
 * postgres_behaviour_test.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";

const inNode = import.meta.url.endsWith(".js");
const script = fileURLToPath(
  new URL(`./support/unclosed_stores.${inNode ? "js" : "ts"}`, import.meta.url),
);

function runUnclosed(kind: string, dir: string) {
  const args = inNode ? [script, kind, dir] : ["run", "-A", script, kind, dir];
  return new Promise<{ code: number | null; signal: string | null; out: string }>(
    (resolve) => {
      const child = spawn(process.execPath, args, {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk) => out += chunk);
      // A process that never ends fails the test instead of hanging it.
      const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("close", (code, signal) => {
        clearTimeout(kill);
        resolve({ code, signal, out });
      });
    },
  );
}

for (const kind of ["memory", "indexeddb", "kv"]) {
  Deno.test(`a ${kind} store left open does not keep the process alive`, async () => {
    const dir = await mkdtemp(`${tmpdir()}/verdict-unclosed-`);
    try {
      const { code, signal, out } = await runUnclosed(kind, dir);
      assert.equal(out.trim(), `${kind}: appended, not closed`);
      assert.equal(signal, null, "it ended by itself, it was not killed");
      assert.equal(code, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
