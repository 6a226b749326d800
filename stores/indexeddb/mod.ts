/**
 * IndexedDB stores for the browser: events, command log and checkpoints in
 * one database, so the aggregates that run on the server run offline in a
 * page and survive reloads. Built on `idb`.
 *
 * @example Open all three on one database, with atomic audit
 * ```ts
 * import "fake-indexeddb/auto"; // in a browser, IndexedDB is simply there
 * import { audit, CommandBus, deciderHandler } from "@verdict/verdict";
 * import { openIndexedDbStores } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const stores = openIndexedDbStores("example-bank");
 * const bus = new CommandBus().use(audit(stores.commandLog));
 * bus.register("Ping", deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Pinged", data: null }], evolve: (n) => n + 1 },
 *   store: stores.events,
 *   streamId: () => "pings",
 * }));
 * const result = await bus.dispatch({ type: "Ping", data: null });
 * assert.equal((await stores.commandLog.get(result.commandId))?.status, "accepted");
 * await stores.close();
 * ```
 *
 * @module
 */

import type { Stores } from "../../mod.ts";
import { joinStores } from "../../src/store_kit/mod.ts";
import { IndexedDbCheckpointStore } from "./checkpoint_store.ts";
import { IndexedDbCommandLog } from "./command_log.ts";
import { IndexedDbSnapshotStore } from "./snapshot_store.ts";
import { VerdictDatabase } from "./database.ts";
import { IndexedDbEventStore } from "./event_store.ts";

export {
  DatabaseBlockedError,
  IndexedDbUnavailableError,
  StorageQuotaError,
  VerdictDatabase,
} from "./database.ts";
export * from "./event_store.ts";
export * from "./command_log.ts";
export * from "./checkpoint_store.ts";
export * from "./snapshot_store.ts";

/**
 * The three IndexedDB stores on one database, opened by {@linkcode openIndexedDbStores}.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import { type IndexedDbStores, openIndexedDbStores } from "@verdict/verdict/indexeddb";
 *
 * const stores: IndexedDbStores = openIndexedDbStores("example-stores");
 * await stores.close();
 * ```
 */
export interface IndexedDbStores extends Stores {
  /** The database they share. */
  readonly database: VerdictDatabase;
  /** The event store; its `commandLog` is `commandLog`, for atomic audit. */
  readonly events: IndexedDbEventStore;
  /** The command log. */
  readonly commandLog: IndexedDbCommandLog;
  /** The checkpoint store. */
  readonly checkpoints: IndexedDbCheckpointStore;
  /** The snapshot store. */
  readonly snapshots: IndexedDbSnapshotStore;
  /** Closes the stores and the database connection. */
  close(): Promise<void>;
}

/**
 * The three stores on one IndexedDB database (default name `"verdict"`),
 * with the command log committing in the event store's transactions.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import { openIndexedDbStores } from "@verdict/verdict/indexeddb";
 *
 * const stores = openIndexedDbStores("example-app");
 * await stores.checkpoints.save("reports", 0);
 * await stores.close();
 * ```
 */
export function openIndexedDbStores(
  name = "verdict",
  options: {
    durability?: "strict" | "relaxed" | "default";
    announceInterval?: number;
  } = {},
): IndexedDbStores {
  const database = new VerdictDatabase(name);
  const commandLog = new IndexedDbCommandLog({ database });
  const events = new IndexedDbEventStore({
    database,
    commandLog,
    durability: options.durability,
    announceInterval: options.announceInterval,
  });
  const checkpoints = new IndexedDbCheckpointStore({ database });
  const snapshots = new IndexedDbSnapshotStore({ database });
  return joinStores({ database, events, commandLog, checkpoints, snapshots });
}
export * from "./document_store.ts";
