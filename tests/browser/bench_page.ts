// Measures the IndexedDB stores inside a real browser page, each beside a raw
// idb baseline, and leaves the figures on `window.verdictBench`.
import { openDB } from "idb";
import {
  CommandBus,
  deciderHandler,
  openIndexedDbStores,
} from "@verdict/verdict/browser";
import { accountDecider, type BankCommand } from "../../examples/bank.ts";

const COMMANDS = 300;
const BATCH = 1_000;

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
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
const rawSingle = await time(async () => {
  for (let i = 0; i < COMMANDS; i++) {
    const tx = raw.transaction("rows", "readwrite", { durability: "strict" });
    await tx.store.put(row(i));
    await tx.done;
  }
});
const rawBatch = await time(async () => {
  const tx = raw.transaction("rows", "readwrite", { durability: "strict" });
  for (let i = 0; i < BATCH; i++) tx.store.put(row(i));
  await tx.done;
});

const stores = openIndexedDbStores("bench-verdict");
const bus = new CommandBus<BankCommand>();
const handler = deciderHandler({
  decider: accountDecider,
  store: stores.events,
  streamId: (command: BankCommand) =>
    command.type === "Transfer"
      ? [`account-${command.data.from}`, `account-${command.data.to}`]
      : `account-${command.data.accountId}`,
});
bus.register("OpenAccount", handler).register("Deposit", handler);
await bus.dispatch({ type: "OpenAccount", data: { accountId: "a1", owner: "o" } });
const command: BankCommand = { type: "Deposit", data: { accountId: "a1", amount: 1 } };
const commands = await time(async () => {
  for (let i = 0; i < COMMANDS; i++) await bus.dispatch(command);
});
const events = Array.from({ length: BATCH }, (_, i) => ({
  type: "Imported",
  data: { line: i, text: "a line of an imported statement" },
}));
const batch = await time(async () => {
  await stores.events.appendToStream("import", events, { expectedVersion: "no_stream" });
});
await stores.close();
raw.close();

(globalThis as { verdictBench?: unknown }).verdictBench = {
  commandMs: commands / COMMANDS,
  rawPutMs: rawSingle / COMMANDS,
  batchMs: batch,
  rawBatchMs: rawBatch,
  batchSize: BATCH,
};
