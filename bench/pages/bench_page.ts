// Measures the IndexedDB stores inside a real browser page, each beside a raw
// idb baseline, and leaves the figures on `window.verdictBench`. The disk's
// speed drifts during a run, so the cases alternate, round after round, and
// each figure is a median over the rounds.
import { openDB } from "idb";
import {
  CommandBus,
  deciderHandler,
  openIndexedDbStores,
} from "@verdict/verdict/browser";
import { accountDefinition, type BankCommand } from "../../examples/bank.ts";

const ROUNDS = 7;
const COMMANDS = 60;
const BATCH = 1_000;

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const raw = await openDB("bench-raw", 1, {
  upgrade(db) {
    db.createObjectStore("rows", { keyPath: "position", autoIncrement: true });
  },
});
const row = (i: number) => ({
  id: crypto.randomUUID(),
  type: "MoneyDeposited",
  data: { accountId: "a1", amount: 1, i },
  metadata: { correlationId: "c", causationId: "d" },
});

const stores = openIndexedDbStores("bench-verdict");
const bus = new CommandBus<BankCommand>();
const handler = deciderHandler({ ...accountDefinition, store: stores.events });
bus.register("OpenAccount", handler).register("Deposit", handler);
await bus.dispatch({ type: "OpenAccount", data: { accountId: "a1", owner: "o" } });
const command: BankCommand = { type: "Deposit", data: { accountId: "a1", amount: 1 } };
const events = Array.from({ length: BATCH }, (_, i) => ({
  type: "Imported",
  data: { line: i, text: "a line of an imported statement" },
}));

const rawPut: number[] = [];
const commands: number[] = [];
const rawBatch: number[] = [];
const batch: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  rawPut.push(
    await time(async () => {
      for (let i = 0; i < COMMANDS; i++) {
        const tx = raw.transaction("rows", "readwrite", { durability: "strict" });
        await tx.store.put(row(i));
        await tx.done;
      }
    }) / COMMANDS,
  );
  commands.push(
    await time(async () => {
      for (let i = 0; i < COMMANDS; i++) {
        const result = await bus.dispatch(command);
        if (result.status !== "accepted") throw new Error(result.status);
      }
    }) / COMMANDS,
  );
  rawBatch.push(
    await time(async () => {
      const tx = raw.transaction("rows", "readwrite", { durability: "strict" });
      for (let i = 0; i < BATCH; i++) tx.store.put(row(i));
      await tx.done;
    }),
  );
  batch.push(
    await time(async () => {
      await stores.events.appendToStream(`import-${round}`, events, {
        expectedVersion: "no_stream",
      });
    }),
  );
}
await stores.close();
raw.close();

(globalThis as { verdictBench?: unknown }).verdictBench = {
  rounds: ROUNDS,
  commandMs: median(commands),
  rawPutMs: median(rawPut),
  // Each round's command figure beside the raw figure measured just before it.
  ratios: commands.map((ms, i) => rawPut[i] / ms),
  batchMs: median(batch),
  rawBatchMs: median(rawBatch),
  batchSize: BATCH,
};
