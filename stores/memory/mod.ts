/**
 * In-memory stores: the reference implementations of the event store and
 * command log ports. Fast, dependency-free, and held to the same contract
 * suites as every other store — use them in tests, in development, and as a
 * browser fallback.
 *
 * @example Atomic audit with the memory stores
 * ```ts
 * import { audit, CommandBus, deciderHandler, type Decider } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type Ping = { type: "Ping"; data: null };
 * const pinger: Decider<Ping, number, { type: "Pinged"; data: null }> = {
 *   initialState: () => 0,
 *   decide: () => [{ type: "Pinged", data: null }],
 *   evolve: (n) => n + 1,
 * };
 * const log = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog: log });
 * const bus = new CommandBus<Ping>().use(audit(log));
 * bus.register("Ping", deciderHandler({ decider: pinger, store, streamId: () => "pings" }));
 *
 * const result = await bus.dispatch({ type: "Ping", data: null });
 * const record = await log.get(result.commandId);
 * assert.equal(record?.status, "accepted");
 * assert.equal(record?.eventIds.length, 1);
 * ```
 *
 * @module
 */

import type { Stores } from "../../mod.ts";
import { joinStores } from "../../src/store_kit/mod.ts";
import { MemoryCheckpointStore } from "./checkpoint_store.ts";
import { MemoryCommandLog } from "./command_log.ts";
import { MemoryEventStore } from "./event_store.ts";
import { MemorySnapshotStore } from "./snapshot_store.ts";

export * from "./event_store.ts";
export * from "./command_log.ts";
export * from "./checkpoint_store.ts";
export * from "./snapshot_store.ts";
export * from "./document_store.ts";

/**
 * The memory stores, as {@linkcode openMemoryStores} returns them.
 *
 * @example
 * ```ts
 * import { type MemoryStores, openMemoryStores } from "@verdict/verdict/memory";
 *
 * const stores: MemoryStores = openMemoryStores();
 * await stores.checkpoints.save("reports", 0);
 * await stores.close();
 * ```
 */
export interface MemoryStores extends Stores {
  /** The event store; its `commandLog` is `commandLog`, for atomic audit. */
  readonly events: MemoryEventStore;
  /** The command log. */
  readonly commandLog: MemoryCommandLog;
  /** The checkpoint store. */
  readonly checkpoints: MemoryCheckpointStore;
  /** The snapshot store. */
  readonly snapshots: MemorySnapshotStore;
}

/**
 * The four memory stores, the command log committing atomically with
 * appends: what `openKvStores`, `openPostgresStores` and
 * `openIndexedDbStores` give, in the process's memory.
 *
 * @example
 * ```ts
 * import { openMemoryStores } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const stores = openMemoryStores();
 * assert.equal(stores.events.commandLog, stores.commandLog);
 * await stores.events.appendToStream("s", [{ type: "A", data: {} }]);
 * await stores.close();
 * ```
 */
export function openMemoryStores(): MemoryStores {
  const commandLog = new MemoryCommandLog();
  const events = new MemoryEventStore({ commandLog });
  const checkpoints = new MemoryCheckpointStore();
  const snapshots = new MemorySnapshotStore();
  return joinStores({ events, commandLog, checkpoints, snapshots });
}
