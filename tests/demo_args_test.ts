// deno-only: runs the demo scripts.
// The demos' command line is strict: a bad flag or store is one sentence and
// exit code 2, before anything is opened or written.
import assert from "node:assert/strict";
import { parseDemoArgs } from "../scripts/demo_args.ts";

Deno.test("parseDemoArgs takes --store VALUE, --store=VALUE and --help, nothing else", () => {
  assert.deepEqual(parseDemoArgs([]), { store: undefined });
  assert.deepEqual(parseDemoArgs(["--store", "memory"]), { store: "memory" });
  assert.deepEqual(parseDemoArgs(["--store=kv:bank.kv"]), { store: "kv:bank.kv" });
  assert.deepEqual(parseDemoArgs(["--store", "postgres://u:p@h/db"]), {
    store: "postgres://u:p@h/db",
  });
  assert.equal(parseDemoArgs(["--help"]), "help");
  assert.equal(parseDemoArgs(["-h"]), "help");
  for (
    const [args, says] of [
      [["--stor", "memory"], /unknown argument "--stor"/],
      [["memory"], /unknown argument "memory"/],
      [["--store"], /--store needs a value/],
      [["--store", "--help"], /--store needs a value/],
      [["--store", "mysql://x"], /unknown store "mysql:\/\/x"/],
      [["--store", "kv:"], /kv: needs a file path/],
      [["--store", "memory", "--store", "memory"], /given twice/],
    ] as const
  ) {
    const parsed = parseDemoArgs(args);
    assert.equal(typeof parsed, "string", args.join(" "));
    assert.match(parsed as string, says);
  }
});

async function demo(args: string[], cwd: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../scripts/demo.ts", import.meta.url).pathname, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("the demo refuses bad input with one sentence and exit code 2, writing nothing", async () => {
  const cwd = await Deno.makeTempDir({ prefix: "verdict-demo-args-" });
  try {
    for (
      const args of [
        ["--stor", "memory"],
        ["--store"],
        ["stray"],
        ["--store", `kv:${cwd}/missing/dir/bank.kv`],
      ]
    ) {
      const run = await demo(args, cwd);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /^demo: /);
      assert.doesNotMatch(run.stderr, /\bat .*\.ts:\d+/, "no stack trace");
    }
    const help = await demo(["--help"], cwd);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: deno task demo \[--store/);
    assert.deepEqual([...Deno.readDirSync(cwd)], [], "nothing written");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
