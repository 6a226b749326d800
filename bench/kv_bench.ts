/**
 * Deno KV on a local file: a command through the bus beside the raw floor of
 * any checked write, one atomic commit of one checked key, and beside the
 * writes an append needs at the least (head, event, global-log entry, no
 * verdict code); and batch appends of 100 events per call.
 *
 *   deno bench -A --unstable-kv bench/kv_bench.ts
 */

import { KvEventStore } from "@verdict/verdict/kv";
import {
  bankDeposits,
  rawCommitter,
  requiredWritesCommitter,
} from "./support/kv_shared.ts";

const dir = await Deno.makeTempDir({ prefix: "verdict-kv-bench-" });
const kv = await Deno.openKv(`${dir}/bench.kv`);
globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});

Deno.bench({
  name: "raw: one atomic commit of one checked key",
  group: "kv commands",
  baseline: true,
  fn: rawCommitter(kv),
});

Deno.bench({
  name: "raw: the required writes alone (check head; set head, event, global-log entry)",
  group: "kv commands",
  fn: requiredWritesCommitter(kv),
});

const store = new KvEventStore(kv, { prefix: ["bench"] });
Deno.bench({
  name: "bus + KV store: sequential commands over 100 streams",
  group: "kv commands",
  fn: await bankDeposits(store),
});

const batch = Array.from({ length: 100 }, (_, i) => ({
  type: "Imported",
  data: { line: i, text: "a line of an imported statement" },
}));
let batchStream = 0;
Deno.bench({
  name: "append 100 events per call (one atomic commit)",
  group: "kv batch",
  async fn() {
    await store.appendToStream(`import-${batchStream++}`, batch, {
      expectedVersion: "no_stream",
    });
  },
});
