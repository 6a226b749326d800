// The IndexedDB stores under Deno with fake-indexeddb, for speed; the same
// suites run in real Chromium in tests/browser_test.ts.
import { soak } from "./support/soak.ts";
import "fake-indexeddb/auto";
import { checkCoherentCache } from "./support/coherent_cache.ts";
import assert from "node:assert/strict";
import {
  IndexedDbCommandLog,
  IndexedDbDocumentStore,
  IndexedDbEventStore,
  VerdictDatabase,
} from "@verdict/verdict/indexeddb";

import { indexedDbSuites } from "./support/indexeddb_suites.ts";
import { checkAtomicAudit } from "./support/atomic_audit.ts";
import { checkEveryCommandRecorded } from "./support/every_command_recorded.ts";
import { checkThrottledWakeUps } from "./support/throttled_wake_ups.ts";
import {
  bankInlineProjections,
  checkBankProjections,
} from "./support/bank_projections.ts";

let n = 0;
const fresh = () => new VerdictDatabase(`contract-${Date.now()}-${n++}`);

// The same list runs in real Chromium: tests/browser/contract_page.ts.
for (const [suite, cases] of indexedDbSuites("contract")) {
  Deno.test(`the ${suite} keeps its contract (fake-indexeddb)`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
}

Deno.test("IndexedDB atomic audit: the record and the events commit together or not at all (fake-indexeddb)", async (t) => {
  const database = fresh();
  const log = new IndexedDbCommandLog({ database });
  const store = new IndexedDbEventStore({ database, commandLog: log });
  await checkAtomicAudit(t, store, log);
  await checkEveryCommandRecorded(t, store, log);
  await store.close();
});

Deno.test(`IndexedDB (fake-indexeddb): inline and async balances agree with the event log after ${soak(10_000, 2_000)} random commands`, async () => {
  const database = fresh();
  const documents = new IndexedDbDocumentStore({ database });
  const events = new IndexedDbEventStore({
    database,
    inlineProjections: { store: documents, projections: bankInlineProjections },
  });
  await checkBankProjections(
    { events, documents, close: () => events.close() },
    soak(10_000, 2_000),
  );
  await events.close();
});

Deno.test("IndexedDB live follow: followers in the tab wake at every commit, other tabs on a throttled message that close() still posts (fake-indexeddb)", async () => {
  const name = `tabs-${Date.now()}-${n++}`;
  const channel = new BroadcastChannel(`verdict:${name}`);
  const messages: unknown[] = [];
  channel.onmessage = (message) => void messages.push(message.data);
  // After its first message, this tab posts the next one only when it
  // closes: the interval is longer than the test.
  const writer = new IndexedDbEventStore({
    database: new VerdictDatabase(name),
    announceInterval: 600_000,
  });
  const otherTab = new IndexedDbEventStore({ database: new VerdictDatabase(name) });
  await checkThrottledWakeUps({
    writer,
    elsewhere: otherTab,
    after: 0,
    signals: () => messages.length,
    signal: "message",
  });
  await otherTab.close();
  channel.close();
  assert.throws(
    () =>
      new IndexedDbEventStore({
        database: new VerdictDatabase(name),
        announceInterval: NaN,
      }),
    /announceInterval must be a number of milliseconds >= 0, got NaN/,
  );
});

Deno.test("IndexedDB coherentCache: two tabs' stores on one database learn of each other's commits by BroadcastChannel (fake-indexeddb)", async (t) => {
  const name = `coherent-${Date.now()}-${n++}`;
  await checkCoherentCache(
    t,
    () => new IndexedDbEventStore({ database: new VerdictDatabase(name) }),
  );
});
