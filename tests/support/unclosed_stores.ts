/**
 * Opens a store, appends, and never closes it: the process must still end
 * once its work is done. Run by tests/unclosed_stores_test.ts in Deno and
 * Node:   <runtime> unclosed_stores.(ts|js) memory|indexeddb|kv <dir>
 */
import "fake-indexeddb/auto";
import process from "node:process";
import type { EventStore } from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { openIndexedDbStores } from "@verdict/verdict/indexeddb";
import { openKvStores } from "@verdict/verdict/kv";

const [kind, dir] = process.argv.slice(-2);
const store: EventStore = kind === "memory"
  ? new MemoryEventStore()
  : kind === "indexeddb"
  ? openIndexedDbStores(`unclosed-${Date.now()}`).events
  : (await openKvStores(`${dir}/unclosed.kv`)).events;
await store.appendToStream("s", [{ type: "Done", data: {} }]);
console.log(`${kind}: appended, not closed`);
