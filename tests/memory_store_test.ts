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
