/**
 * `deno task bench:rounds <what> [rounds]`: one runner of `bench/rounds/`,
 * each measuring verdict beside its raw floor in alternating rounds (the
 * machine's drift lands on both sides alike) and printing the medians of
 * the paired ratios. `bench/README.md` lists the figures.
 *
 *   memory             the in-memory bus and audit overhead
 *   memory-allocation  bytes of heap per command (repeats run after run)
 *   cold               the cache off: every command reads its stream (Deno, Node)
 *   dcb                course subscriptions on queries beside the same on streams
 *   kv                 Deno KV appends beside raw KV atomics
 *   postgres           PostgreSQL appends beside a raw SQL floor
 *   postgres-ceiling   PostgreSQL throughput as writers grow
 *   postgres-cold      PostgreSQL, the cache off, beside 4-round-trip and load floors
 *   postgres-instances 4 processes on shared streams: coherent caches or not
 *   browser            IndexedDB stores in real Chromium beside raw idb
 *   sync               SyncClient in Chromium against the sync server
 *   node               the same workload in Node (npm build) and Deno
 *
 * PostgreSQL runners use `DATABASE_URL`, or start an embedded server.
 */
const runners: Record<string, { file: string; flags?: string[] }> = {
  "memory": { file: "memory.ts" },
  "memory-allocation": {
    file: "memory_allocation.ts",
    flags: [
      "--v8-flags=--expose-gc,--min-semi-space-size=256,--max-semi-space-size=256,--initial-old-space-size=1024",
    ],
  },
  "cold": { file: "cold.ts" },
  "dcb": { file: "dcb.ts" },
  "kv": { file: "kv.ts" },
  "postgres": { file: "postgres.ts" },
  "postgres-ceiling": { file: "postgres_ceiling.ts" },
  "postgres-cold": { file: "postgres_cold.ts" },
  "postgres-instances": { file: "postgres_instances.ts" },
  "browser": { file: "browser.ts" },
  "sync": { file: "sync.ts" },
  "node": { file: "node.ts" },
};

const [what, ...rest] = Deno.args;
const runner = runners[what];
if (!runner) {
  console.error(
    `usage: deno task bench:rounds <${Object.keys(runners).join(" | ")}> [rounds]` +
      (what === undefined ? "" : `; got "${what}"`),
  );
  Deno.exit(2);
}
const { code } = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    ...(runner.flags ?? []),
    new URL(`./rounds/${runner.file}`, import.meta.url).pathname,
    ...rest,
  ],
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
