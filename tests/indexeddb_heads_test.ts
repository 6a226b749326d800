// A stream's head in IndexedDB is the end of its last row in the events'
// unique [streamId, version] index (a row holds one event, or a slice of a
// large append), and an append expecting a version this store has already
// seen stored does not read it: adding the next version fails if another
// writer took it. These tests hold that shortcut to the same guarantees as a
// read: another tab's write is a conflict, slices keep every guarantee,
// storage cleared under a reconnect is noticed, damaged rows are reported,
// and a database written by an older layout (heads in a "streams" store)
// upgrades with its history intact.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { forceCloseDatabase } from "fake-indexeddb";
import { unwrap } from "idb";
import type { EventQuery } from "@verdict/verdict";
import {
  ConcurrencyError,
  DuplicateEventIdError,
  EventDecodeError,
  uuidv7,
} from "@verdict/verdict";
import { IndexedDbEventStore, VerdictDatabase } from "@verdict/verdict/indexeddb";

const one = (type: string) => [{ type, data: {} }];
const many = (count: number, type = "Line") =>
  Array.from({ length: count }, (_, i) => ({ type, data: { i } }));

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

Deno.test("large appends kept in slices hold the same guarantees", async (t) => {
  const name = `heads-slices-${Date.now()}`;
  const mine = new IndexedDbEventStore({ database: new VerdictDatabase(name) });
  const theirs = new IndexedDbEventStore({ database: new VerdictDatabase(name) });
  await mine.appendToStream("s", many(150), { expectedVersion: "no_stream" }); // seen at 150

  await t.step("a version read inside a slice is not taken for the head", async () => {
    // Twenty events are read, from rows that end at version 150.
    assert.equal((await theirs.readStream("s", { limit: 20 })).length, 20);
    await rejectsWithActual(
      theirs.appendToStream("s", one("X"), { expectedVersion: 20 }),
      150,
    );
  });

  await t.step("another tab's batch after a seen version is a conflict", async () => {
    await theirs.appendToStream("s", many(30, "Theirs"), { expectedVersion: 150 });
    await rejectsWithActual(
      mine.appendToStream("s", one("Mine"), { expectedVersion: 150 }),
      180,
    );
    await mine.appendToStream("s", one("Mine"), { expectedVersion: 180 });
    const stored = await theirs.readStream("s");
    assert.deepEqual(stored.map((e) => e.version), stored.map((_, i) => i + 1));
    assert.deepEqual(stored.slice(148).map((e) => [e.type, e.version]), [
      ["Line", 149],
      ["Line", 150],
      ...Array.from({ length: 30 }, (_, i) => ["Theirs", 151 + i]),
      ["Mine", 181],
    ]);
  });

  await t.step(
    "a retried batch with its ids is stored once; an id inside a slice stays taken",
    async () => {
      const batch = many(120).map((event) => ({ ...event, id: uuidv7() }));
      const first = await mine.appendToStream("r", batch, {
        expectedVersion: "no_stream",
      });
      const before = (await mine.readAll()).length;
      const retry = await theirs.appendToStream("r", batch, {
        expectedVersion: "no_stream",
      });
      assert.deepEqual(
        retry.events.map((e) => [e.id, e.version, e.position]),
        first.events.map((e) => [e.id, e.version, e.position]),
      );
      assert.equal(retry.nextExpectedVersion, 120);
      assert.equal((await mine.readAll()).length, before);
      const reused = await theirs.appendToStream("other", [{
        ...one("Again")[0],
        id: batch[110].id,
      }])
        .then(() => undefined, (e) => e);
      assert.ok(reused instanceof DuplicateEventIdError, `got ${reused}`);
      assert.equal((await mine.readAll()).length, before);
    },
  );
  await mine.close();
  await theirs.close();
});

Deno.test("a damaged row, alone or a slice, is reported with its event's position", async () => {
  const database = new VerdictDatabase(`heads-damaged-${Date.now()}`);
  const store = new IndexedDbEventStore({ database });
  await store.appendToStream("a", one("Fine"));
  const batch = await store.appendToStream("b", many(20));
  const db = await database.open();
  // Another program (or an old bug) left a row without a type and a slice
  // whose ids do not match its events.
  const tx = db.transaction("events", "readwrite");
  await tx.store.put({
    ...(await tx.store.get(1))!,
    type: undefined as unknown as string,
  });
  const slice = (await tx.store.get(batch.events[19].position))!;
  await tx.store.put({ ...slice, id: ["only-one"] } as typeof slice);
  await tx.done;
  for (
    const [read, position] of [
      [() => store.readStream("a"), 1],
      [() => store.readAll({ limit: 1 }), 1],
      [() => store.readStream("b"), batch.events[19].position],
      [() => store.readAll({ after: 1 }), batch.events[19].position],
    ] as const
  ) {
    const error = await read().then(() => undefined, (e) => e);
    assert.ok(error instanceof EventDecodeError, `got ${error}`);
    assert.equal(error.position, position);
  }
  await store.close();
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
  const upgraded = unwrap(await database.open());
  assert.ok(!upgraded.objectStoreNames.contains("streams"));
  // Schema 5 indexes every id of a slice row.
  assert.ok(upgraded.transaction("events").objectStore("events").index("id").multiEntry);
  await store.close();
});

Deno.test("a database of schema 5 upgrades with its tagged events indexed by tag", async () => {
  const name = `tags-upgrade-${Date.now()}`;
  // The layout of schema 5, as the previous version created it.
  const old = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, 5);
    request.onupgradeneeded = () => {
      const db = request.result;
      const events = db.createObjectStore("events", {
        keyPath: "position",
        autoIncrement: true,
      });
      events.createIndex("stream", ["streamId", "version"], { unique: true });
      events.createIndex("id", "id", { unique: true, multiEntry: true });
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
  const timestamp = Date.UTC(2026, 0, 1);
  await new Promise<void>((resolve, reject) => {
    const tx = old.transaction("events", "readwrite");
    const events = tx.objectStore("events");
    // An event alone, one without tags, and a slice of two.
    events.add({
      id: "e-1",
      streamId: "course-c1",
      version: 1,
      type: "CourseDefined",
      data: {},
      metadata: {},
      tags: ["course:c1"],
      timestamp,
    });
    events.add({
      id: "e-2",
      streamId: "other",
      version: 1,
      type: "Noted",
      data: {},
      metadata: {},
      timestamp,
    });
    events.add({
      id: ["e-3", "e-4"],
      streamId: "students",
      version: 1,
      events: [
        {
          type: "StudentSubscribed",
          data: {},
          metadata: {},
          tags: ["course:c1", "student:s1"],
        },
        { type: "StudentSubscribed", data: {}, metadata: {}, tags: ["student:s2"] },
      ],
      timestamp,
    });
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  old.close();

  const database = new VerdictDatabase(name);
  const store = new IndexedDbEventStore({ database });
  const ids = async (query: EventQuery) =>
    (await store.readQuery(query)).events.map((event) => event.id);
  assert.deepEqual(await ids([{ tags: ["course:c1"] }]), ["e-1", "e-3"]);
  assert.deepEqual(await ids([{ tags: ["student:s2"] }]), ["e-4"]);
  assert.deepEqual(await ids([{ tags: ["student:s1"] }, { tags: ["student:s2"] }]), [
    "e-3",
    "e-4",
  ]);
  // New rows are indexed as they are written; a condition sees the old ones.
  const { head } = await store.readQuery([{ tags: ["course:c1"] }]);
  await store.appendToStream("course-c1", [
    { id: "e-5", type: "CourseCapacityChanged", data: {}, tags: ["course:c1"] },
  ], { condition: { failIfEventsMatch: [{ tags: ["course:c1"] }], after: head } });
  assert.deepEqual(await ids([{ tags: ["course:c1"] }]), ["e-1", "e-3", "e-5"]);
  const upgraded = unwrap(await database.open());
  assert.ok(upgraded.transaction("events").objectStore("events").index("tag").multiEntry);
  await store.close();
});
