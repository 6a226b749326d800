// What a browser really does to an IndexedDB connection, under fake-indexeddb:
// another tab upgrades the database, or the browser closes the connection.
// and the browser runs out of quota in the middle of an append. (Headless
// Chromium ignores the DevTools quota override, so the quota error is raised
// here the way browsers raise it: a DOMException named QuotaExceededError.)
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { forceCloseDatabase } from "fake-indexeddb";
import { unwrap } from "idb";
import {
  DatabaseBlockedError,
  IndexedDbEventStore,
  StorageQuotaError,
  VerdictDatabase,
} from "@verdict/verdict/indexeddb";

Deno.test("an upgrade from another tab closes this connection with a clear error", async () => {
  const database = new VerdictDatabase(`upgrade-${Date.now()}`);
  const store = new IndexedDbEventStore({ database });
  await store.appendToStream("s", [{ type: "A", data: {} }]);
  // Another tab opens a newer version of the same database.
  const newer = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(database.name, 100);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await assert.rejects(store.streamVersion("s"), DatabaseBlockedError);
  await assert.rejects(store.streamVersion("s"), /reload this tab/);
  newer.close();
  await store.close();
});

Deno.test("a connection the browser closed is reopened on the next call", async () => {
  const database = new VerdictDatabase(`lost-${Date.now()}`);
  const store = new IndexedDbEventStore({ database });
  await store.appendToStream("s", [{ type: "A", data: {} }]);
  // fake-indexeddb types its parameter oddly; it takes the connection.
  forceCloseDatabase(unwrap(await database.open()) as unknown as typeof IDBDatabase);
  await store.appendToStream("s", [{ type: "B", data: {} }], { expectedVersion: 1 });
  assert.deepEqual((await store.readStream("s")).map((e) => e.type), ["A", "B"]);
  await store.close();
});

Deno.test("a full quota in the middle of an append is a StorageQuotaError and nothing is written", async () => {
  const database = new VerdictDatabase(`quota-${Date.now()}`);
  const store = new IndexedDbEventStore({ database });
  await store.appendToStream("a", [{ type: "A", data: {} }]);
  const add = IDBObjectStore.prototype.add;
  let adds = 0;
  IDBObjectStore.prototype.add = function (...args: Parameters<IDBObjectStore["add"]>) {
    // The third event of the append does not fit any more.
    if (++adds === 3) {
      throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
    }
    return add.apply(this, args);
  };
  try {
    await assert.rejects(
      store.appendToStreams([
        { streamId: "a", events: [{ type: "B", data: {} }], expectedVersion: 1 },
        { streamId: "b", events: [{ type: "C", data: {} }, { type: "D", data: {} }] },
      ]),
      StorageQuotaError,
    );
  } finally {
    IDBObjectStore.prototype.add = add;
  }
  assert.equal(await store.streamVersion("a"), 1, "stream a untouched");
  assert.equal(await store.streamVersion("b"), 0, "stream b never created");
  assert.equal((await store.readAll()).length, 1, "only the first event exists");
  await store.close();
});
