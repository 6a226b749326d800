import assert from "node:assert/strict";
import { StoreClosedError } from "@verdict/verdict";
import {
  MemoryCommandLog,
  MemoryEventStore,
  openMemoryStores,
} from "@verdict/verdict/memory";
import { checkAtomicAudit } from "./support/atomic_audit.ts";
import { checkEveryCommandRecorded } from "./support/every_command_recorded.ts";
import { memorySuites } from "./support/memory_suites.ts";

// The same list runs in real Chromium: tests/browser/contract_page.ts.
for (const [suite, cases] of memorySuites()) {
  Deno.test(`the ${suite} keeps its contract`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
}

Deno.test("memory: the audit trail cannot be bypassed", async (t) => {
  const log = new MemoryCommandLog();
  await checkEveryCommandRecorded(t, new MemoryEventStore({ commandLog: log }), log);
});

Deno.test("openMemoryStores: four stores, the command log committing with the events", async (t) => {
  const stores = openMemoryStores();
  assert.equal(stores.events.commandLog, stores.commandLog);
  await checkAtomicAudit(t, stores.events, stores.commandLog);
  await stores.checkpoints.save("a", 1);
  assert.equal(await stores.checkpoints.load("a"), 1);
  await stores.close();
  await assert.rejects(
    stores.events.appendToStream("s", [{ type: "A", data: {} }]),
    StoreClosedError,
  );
});

Deno.test("memory: read events are frozen, and copy like plain events", async () => {
  const store = new MemoryEventStore();
  await store.appendToStream("s", [
    { type: "A", data: { list: [1], nested: { n: 1 } }, metadata: { tag: "x" } },
  ]);
  const [event] = await store.readStream("s");
  for (const part of [event, event.data, event.metadata]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.throws(() => (event.data as { list: number[] }).list.push(2), TypeError);
  assert.throws(() => (event as { version: number }).version = 9, TypeError);
  // Every read hands out the same frozen event, and a new Date each time.
  const [again] = await store.readAll();
  assert.equal(again, event);
  assert.notEqual(again.timestamp, event.timestamp);
  // A spread, structuredClone and JSON see a plain event with its timestamp.
  const spread = { ...event, data: { changed: true } };
  assert.ok(spread.timestamp instanceof Date);
  assert.equal(spread.timestamp.getTime(), event.timestamp.getTime());
  assert.deepEqual(structuredClone(event), { ...event });
  assert.deepEqual(Object.keys(event), [
    "id",
    "type",
    "data",
    "metadata",
    "streamId",
    "version",
    "position",
    "timestamp",
  ]);
  assert.equal(
    JSON.parse(JSON.stringify(event)).timestamp,
    event.timestamp.toISOString(),
  );
});
