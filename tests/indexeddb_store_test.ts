// The IndexedDB stores under Deno with fake-indexeddb, for speed; the same
// suites run in real Chromium in tests/browser_test.ts.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import type { DocumentProjection } from "@verdict/verdict";
import {
  IndexedDbCheckpointStore,
  IndexedDbCommandLog,
  IndexedDbDocumentStore,
  IndexedDbEventStore,
  IndexedDbSnapshotStore,
  VerdictDatabase,
} from "@verdict/verdict/indexeddb";
import {
  checkpointStoreContract,
  commandLogContract,
  eventStoreContract,
  eventStoreDamageContract,
  exactlyOnceContract,
  projectionContract,
  snapshotStoreContract,
  streamHeads,
} from "@verdict/verdict/testing";

import { checkAtomicAudit } from "./support/atomic_audit.ts";
import { checkEveryCommandRecorded } from "./support/every_command_recorded.ts";
import { indexedDbDamage } from "./support/indexeddb_damage.ts";
import { checkThrottledWakeUps } from "./support/throttled_wake_ups.ts";
import {
  bankInlineProjections,
  checkBankProjections,
} from "./support/bank_projections.ts";

let n = 0;
const fresh = () => new VerdictDatabase(`contract-${Date.now()}-${n++}`);

Deno.test("the IndexedDB event store keeps the event-store contract (fake-indexeddb)", async (t) => {
  for (
    const c of eventStoreContract(() => new IndexedDbEventStore({ database: fresh() }))
  ) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the IndexedDB event store with its command log keeps the exactly-once contract (fake-indexeddb)", async (t) => {
  const factory = () => {
    const database = fresh();
    return new IndexedDbEventStore({
      database,
      commandLog: new IndexedDbCommandLog({ database }),
    });
  };
  for (const c of exactlyOnceContract(factory)) await t.step(c.name, c.run);
});

Deno.test("the IndexedDB event store detects damaged rows: the damage contract (fake-indexeddb)", async (t) => {
  const names = new WeakMap<IndexedDbEventStore, string>();
  const factory = () => {
    const database = fresh();
    const store = new IndexedDbEventStore({ database });
    names.set(store, database.name);
    return store;
  };
  const kit = indexedDbDamage((store) => names.get(store)!);
  for (const c of eventStoreDamageContract(factory, kit)) await t.step(c.name, c.run);
});

Deno.test("the IndexedDB event store with its command log keeps the event-store contract (fake-indexeddb)", async (t) => {
  const factory = () => {
    const database = fresh();
    return new IndexedDbEventStore({
      database,
      commandLog: new IndexedDbCommandLog({ database }),
    });
  };
  for (const c of eventStoreContract(factory)) await t.step(c.name, c.run);
});

Deno.test("the IndexedDB command log keeps the command-log contract (fake-indexeddb)", async (t) => {
  for (
    const c of commandLogContract(() => new IndexedDbCommandLog({ database: fresh() }))
  ) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the IndexedDB checkpoint store keeps the checkpoint contract (fake-indexeddb)", async (t) => {
  for (
    const c of checkpointStoreContract(() =>
      new IndexedDbCheckpointStore({ database: fresh() })
    )
  ) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the IndexedDB snapshot store keeps the snapshot contract (fake-indexeddb)", async (t) => {
  for (
    const c of snapshotStoreContract(() =>
      new IndexedDbSnapshotStore({ database: fresh() })
    )
  ) {
    await t.step(c.name, c.run);
  }
});

Deno.test("IndexedDB atomic audit: the record and the events commit together or not at all (fake-indexeddb)", async (t) => {
  const database = fresh();
  const log = new IndexedDbCommandLog({ database });
  const store = new IndexedDbEventStore({ database, commandLog: log });
  await checkAtomicAudit(t, store, log);
  await checkEveryCommandRecorded(t, store, log);
  await store.close();
});

Deno.test("the IndexedDB stores keep the document-projection contract (fake-indexeddb)", async (t) => {
  const factory = (projections: readonly DocumentProjection[]) => {
    const database = fresh();
    const documents = new IndexedDbDocumentStore({ database });
    const events = new IndexedDbEventStore({
      database,
      inlineProjections: { store: documents, projections },
    });
    return { events, documents, close: () => events.close() };
  };
  for (const c of projectionContract(factory)) await t.step(c.name, c.run);
});

Deno.test("the IndexedDB event store with inline projections keeps the event-store contract (fake-indexeddb)", async (t) => {
  const factory = () => {
    const database = fresh();
    return new IndexedDbEventStore({
      database,
      inlineProjections: {
        store: new IndexedDbDocumentStore({ database }),
        projections: [streamHeads],
      },
    });
  };
  for (const c of eventStoreContract(factory)) await t.step(c.name, c.run);
});

Deno.test("IndexedDB (fake-indexeddb): inline and async balances agree with the event log after 10,000 random commands", async () => {
  const database = fresh();
  const documents = new IndexedDbDocumentStore({ database });
  const events = new IndexedDbEventStore({
    database,
    inlineProjections: { store: documents, projections: bankInlineProjections },
  });
  await checkBankProjections({ events, documents, close: () => events.close() }, 10_000);
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
