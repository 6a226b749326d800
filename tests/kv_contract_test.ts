/**
 * The KV stores keep every contract in Deno and, on the `@deno/kv` npm
 * package, in Node (this file runs in both). In Deno it runs twice: on
 * Deno's own handle, and on one without `commitVersionstamp` — what
 * `@deno/kv` gives — where the event store numbers its commits itself; and
 * the two kinds of handle share one file with one global order.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { follow } from "@verdict/verdict";
import { type Kv, KvEventStore, openKv, openKvStores } from "@verdict/verdict/kv";
import { kvSuites } from "./support/kv_suites.ts";

const inDeno = typeof (globalThis as { Deno?: { openKv?: unknown } }).Deno?.openKv ===
  "function";

/** `kv` as the `@deno/kv` package gives it: no `commitVersionstamp`. */
function unstamped(kv: Kv): Kv {
  return new Proxy(kv, {
    get(target, property) {
      if (property === "commitVersionstamp") return undefined;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const kinds: { name: string; wrap: (kv: Kv) => Kv }[] = inDeno
  ? [
    { name: "Deno's handle", wrap: (kv) => kv },
    { name: "a handle without commit versionstamps", wrap: unstamped },
  ]
  : [{ name: "@deno/kv in Node", wrap: (kv) => kv }];

async function withFiles(
  body: (open: () => Promise<Kv>) => Promise<void>,
  wrap: (kv: Kv) => Kv,
) {
  const dir = await mkdtemp(join(tmpdir(), "verdict-kv-contract-"));
  let n = 0;
  try {
    await body(async () => wrap(await openKv(join(dir, `${n++}.kv`))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// One folder of KV files for the suites, removed by the last test below.
const dir = await mkdtemp(join(tmpdir(), "verdict-kv-contract-"));
let files = 0;
for (const kind of kinds) {
  // Deno's own handle under a prefix of its own, the others under the default.
  const prefix = kind.name === "Deno's handle" ? ["contract"] : undefined;
  const open = async () => kind.wrap(await openKv(join(dir, `${files++}.kv`)));
  for (const [suite, cases] of kvSuites("Deno KV", open, prefix)) {
    Deno.test(`the ${suite} keeps its contract (${kind.name})`, async (t) => {
      for (const c of cases) await t.step(c.name, c.run);
    });
  }
}

Deno.test("Deno KV: both kinds of handle share one file, with one gap-free global order", async () => {
  await withFiles(async (open) => {
    const kv = await open();
    const stamped = new KvEventStore(kv);
    const numbered = new KvEventStore(inDeno ? unstamped(kv) : kv);
    const writers = [stamped, numbered];
    const positions: number[] = [];
    // Interleaved and racing: 8 rounds of 4 concurrent appends, two per kind.
    for (let round = 0; round < 8; round++) {
      const results = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          writers[i % 2].appendToStream(`s-${i}`, [{ type: "E", data: { round, i } }])
        ),
      );
      for (const result of results) positions.push(result.events[0].position);
    }
    const all = await stamped.readAll();
    assert.equal(all.length, 32, "every event once");
    assert.deepEqual(
      all.map((e) => e.position),
      [...all.map((e) => e.position)].sort((a, b) => a - b),
      "in increasing position",
    );
    assert.deepEqual(
      all.map((e) => e.position).sort((a, b) => a - b),
      [...positions].sort((a, b) => a - b),
      "the positions the appends reported",
    );
    assert.deepEqual(await numbered.readAll(), all, "both read the same order");
    // A follower from the middle sees exactly the rest, in order.
    const middle = all[15].position;
    const seen: number[] = [];
    const controller = new AbortController();
    for await (
      const event of follow(numbered, { after: middle, signal: controller.signal })
    ) {
      seen.push(event.position);
      if (seen.length === 16) controller.abort();
    }
    assert.deepEqual(seen, all.slice(16).map((e) => e.position));
    kv.close();
  }, (kv) => kv);
});

Deno.test("openKvStores: one file, atomic audit, in this runtime", async () => {
  const dir = await mkdtemp(join(tmpdir(), "verdict-kv-open-"));
  try {
    const stores = await openKvStores(join(dir, "app.kv"));
    await stores.events.appendToStream("a", [{ type: "A", data: {} }]);
    assert.equal(await stores.events.streamVersion("a"), 1);
    await stores.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test("Deno KV: remove the contract suites' files", async () => {
  await rm(dir, { recursive: true, force: true });
});
