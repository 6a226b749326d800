/**
 * The shape every `open*Stores` function returns, whatever the store.
 *
 * @module
 */

import type { CommandLogStore } from "./command_log.ts";
import type { EventStore } from "./event_store.ts";
import type { SnapshotStore } from "./snapshot_store.ts";
import type { CheckpointStore } from "./checkpoint_store.ts";

/**
 * A store's four ports on one backing (a process's memory, a KV file, a
 * PostgreSQL schema, an IndexedDB database), closed together. The event
 * store's `commandLog` is `commandLog`, so an audited command's record
 * commits with its events. `openMemoryStores`, `openKvStores`,
 * `openPostgresStores` and `openIndexedDbStores` each return one, with
 * their own types and the handle they share.
 *
 * @example Code written once for any store
 * ```ts
 * import { audit, CommandBus, deciderHandler, type Stores } from "@verdict/verdict";
 * import { openMemoryStores } from "@verdict/verdict/memory";
 *
 * function pingBus(stores: Stores) {
 *   return new CommandBus().use(audit(stores.commandLog)).register(
 *     "Ping",
 *     deciderHandler({
 *       decider: { initialState: () => 0, decide: () => [{ type: "Pinged", data: null }], evolve: (n) => n + 1 },
 *       store: stores.events,
 *       streamId: () => "pings",
 *     }),
 *   );
 * }
 * const stores = openMemoryStores();
 * await pingBus(stores).dispatch({ type: "Ping", data: null });
 * await stores.close();
 * ```
 */
export interface Stores {
  /** The event store; its `commandLog` is `commandLog`, for atomic audit. */
  readonly events: EventStore;
  /** The command log: the audit trail. */
  readonly commandLog: CommandLogStore;
  /** Where subscriptions and projections keep their positions. */
  readonly checkpoints: CheckpointStore;
  /** Where the decider handler keeps snapshots of long streams. */
  readonly snapshots: SnapshotStore;
  /** Closes every store and the handle they share. */
  close(): Promise<void>;
}
