// The IndexedDB stores in a runtime without IndexedDB (this test file does
// not import fake-indexeddb): a typed error that says what to do, not a bare
// ReferenceError.
import assert from "node:assert/strict";
import {
  IndexedDbUnavailableError,
  openIndexedDbStores,
} from "@verdict/verdict/indexeddb";

Deno.test("without IndexedDB, the stores fail with IndexedDbUnavailableError saying what to do", async () => {
  assert.equal(typeof (globalThis as { indexedDB?: unknown }).indexedDB, "undefined");
  const stores = openIndexedDbStores("no-indexeddb-here");
  for (
    const call of [
      () => stores.events.appendToStream("s", [{ type: "A", data: {} }]),
      () => stores.events.readAll(),
      () => stores.commandLog.get("c"),
      () => stores.checkpoints.load("consumer"),
    ]
  ) {
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof IndexedDbUnavailableError, String(error));
      assert.match(error.message, /no IndexedDB/);
      assert.match(error.message, /fake-indexeddb\/auto/);
      return true;
    });
  }
  await stores.close();
});
