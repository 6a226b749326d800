// A stream's head in IndexedDB is the last key of the events' unique
// [streamId, version] index, and an append expecting a version this store has
// already seen stored does not read it: adding the next version fails if
// another writer took it. These tests hold that shortcut to the same
// guarantees as a read: another tab's write is a conflict, storage cleared
// under a reconnect is noticed, and a database written by the older layout
// (heads in a "streams" store) upgrades with its history intact.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { forceCloseDatabase } from "fake-indexeddb";
import { unwrap } from "idb";
import { ConcurrencyError } from "@verdict/verdict";
import { IndexedDbEventStore, VerdictDatabase } from "@verdict/verdict/indexeddb";

const one = (type: string) => [{ type, data: {} }];

async function rejectsWithActual(attempt: Promise<unknown>, actual: number) {
  const error = await attempt.then(() => undefined, (e) => e);
  assert.ok(
    error instanceof ConcurrencyError,
    `expected a ConcurrencyError, got ${error}`,
  );
  assert.equal(error.actual, actual);
}

Deno.test("an append on a seen version loses to another tab's write of the next one", async () => {
  const name = `heads-tabs-${Date.now()}`;
  const mine = new IndexedDbEventStore({ database: new VerdictDatabase(name) });
  const theirs = new IndexedDbEventStore({ database: new VerdictDatabase(name) });
  await mine.appendToStream("s", one("A"), { expectedVersion: "no_stream" });
  await mine.appendToStream("s", one("B"), { expectedVersion: 1 }); // seen at 2
  await theirs.appendToStream("s", one("C"), { expectedVersion: 2 });
  await rejectsWithActual(mine.appendToStream("s", one("D"), { expectedVersion: 2 }), 3);
  // A version beyond the stream's end is refused too, with the real version.
  await rejectsWithActual(mine.appendToStream("s", one("E"), { expectedVersion: 5 }), 3);
  await mine.appendToStream("s", one("F"), { expectedVersion: 3 });
  assert.deepEqual((await theirs.readStream("s")).map((e) => [e.type, e.version]), [
    ["A", 1],
    ["B", 2],
    ["C", 3],
    ["F", 4],
  ]);
  await rejectsWithActual(
    theirs.appendToStream("s", one("G"), { expectedVersion: "no_stream" }),
    4,
  );
  await mine.close();
  await theirs.close();
});

Deno.test("storage cleared behind a lost connection: what the store had seen is forgotten", async () => {
  const database = new VerdictDatabase(`heads-cleared-${Date.now()}`);
  const store = new IndexedDbEventStore({ database });
  await store.appendToStream("s", one("A"));
  await store.appendToStream("s", one("B"), { expectedVersion: 1 }); // seen at 2
  // The browser drops the connection and the site's data with it.
  forceCloseDatabase(unwrap(await database.open()) as unknown as typeof IDBDatabase);
  await new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(database.name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
  // Version 3 of an empty stream would leave a gap: it is a conflict.
  await rejectsWithActual(store.appendToStream("s", one("C"), { expectedVersion: 2 }), 0);
  assert.deepEqual(await store.readStream("s"), []);
  await store.close();
});

Deno.test("a database of schema 3 (heads in a streams store) upgrades with its history", async () => {
  const name = `heads-upgrade-${Date.now()}`;
  // The layout of schema 3, as the previous version created it.
  const old = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, 3);
    request.onupgradeneeded = () => {
      const db = request.result;
      const events = db.createObjectStore("events", {
        keyPath: "position",
        autoIncrement: true,
      });
      events.createIndex("stream", ["streamId", "version"], { unique: true });
      events.createIndex("id", "id", { unique: true });
      db.createObjectStore("streams", { keyPath: "streamId" });
      const commands = db.createObjectStore("commands", { keyPath: "id" });
      commands.createIndex("time", ["ts", "id"]);
      commands.createIndex("correlation", ["correlationId", "ts", "id"]);
      commands.createIndex("type", ["commandType", "ts", "id"]);
      db.createObjectStore("checkpoints", { keyPath: "consumer" });
      db.createObjectStore("snapshots", { keyPath: "streamId" });
      db.createObjectStore("documents", { keyPath: ["projection", "id"] });
      db.createObjectStore("projections", { keyPath: "name" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise<void>((resolve, reject) => {
    const tx = old.transaction(["events", "streams"], "readwrite");
    for (const version of [1, 2]) {
      tx.objectStore("events").add({
        id: `old-${version}`,
        streamId: "s",
        version,
        type: "Old",
        data: { version },
        metadata: {},
        timestamp: Date.UTC(2026, 0, 1),
      });
    }
    tx.objectStore("streams").put({ streamId: "s", version: 2 });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  old.close();

  const database = new VerdictDatabase(name);
  const store = new IndexedDbEventStore({ database });
  assert.equal(await store.streamVersion("s"), 2);
  await rejectsWithActual(
    store.appendToStream("s", one("New"), { expectedVersion: 1 }),
    2,
  );
  await store.appendToStream("s", one("New"), { expectedVersion: 2 });
  assert.deepEqual((await store.readStream("s")).map((e) => e.type), [
    "Old",
    "Old",
    "New",
  ]);
  assert.ok(!unwrap(await database.open()).objectStoreNames.contains("streams"));
  await store.close();
});
