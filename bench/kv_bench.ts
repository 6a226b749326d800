/**
 * Deno KV on a local file: a command through the bus beside the raw floor of
 * any checked write, one atomic commit of one checked key; and batch appends
 * of 100 events per call.
 *
 *   deno bench -A --unstable-kv bench/kv_bench.ts
 */

import { CommandBus, correlation, deciderHandler } from "@verdict/verdict";
import { KvEventStore } from "@verdict/verdict/kv";
import { accountDecider, type BankCommand } from "../examples/bank.ts";

const dir = await Deno.makeTempDir({ prefix: "verdict-kv-bench-" });
const kv = await Deno.openKv(`${dir}/bench.kv`);
globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
});

// The raw baseline: the versionstamp is known from the previous commit, so
// each iteration is exactly one checked atomic commit.
let rawVersionstamp: string | null = null;
let rawCounter = 0;
Deno.bench({
  name: "raw: one atomic commit of one checked key",
  group: "kv commands",
  baseline: true,
  async fn() {
    const key = ["raw", "counter"];
    const result = await kv.atomic()
      .check({ key, versionstamp: rawVersionstamp })
      .set(key, ++rawCounter)
      .commit();
    if (!result.ok) throw new Error("the raw baseline conflicted");
    rawVersionstamp = result.versionstamp;
  },
});

const store = new KvEventStore(kv, { prefix: ["bench"] });
const bus = new CommandBus<BankCommand>().use(correlation());
const handler = deciderHandler({
  decider: accountDecider,
  store,
  streamId: (command: BankCommand) =>
    command.type === "Transfer"
      ? [`account-${command.data.from}`, `account-${command.data.to}`]
      : `account-${command.data.accountId}`,
});
bus.register("OpenAccount", handler).register("Deposit", handler);
const deposits = Array.from({ length: 100 }, (_, i): BankCommand => ({
  type: "Deposit",
  data: { accountId: `a${i}`, amount: 1 },
}));
for (let i = 0; i < 100; i++) {
  await bus.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
}
let next = 0;
Deno.bench({
  name: "bus + KV store: sequential commands over 100 streams",
  group: "kv commands",
  async fn() {
    const result = await bus.dispatch(deposits[next++ % 100]);
    if (result.status !== "accepted") throw new Error(`command ${result.status}`);
  },
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
