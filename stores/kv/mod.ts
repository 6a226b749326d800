/**
 * Deno KV stores: events, command log and checkpoints on `Deno.Kv` — a local
 * file by default, so verdict runs embedded, with no server. Run with
 * `--unstable-kv`.
 *
 * @example Open all three on one file, with atomic audit
 * ```ts
 * import { audit, CommandBus, deciderHandler } from "@verdict/verdict";
 * import { openKvStores } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const stores = await openKvStores(":memory:", { prefix: ["bank"] });
 * const bus = new CommandBus().use(audit(stores.commandLog));
 * bus.register("Ping", deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Pinged", data: null }], evolve: (n) => n + 1 },
 *   store: stores.events,
 *   streamId: () => "pings",
 * }));
 * const result = await bus.dispatch({ type: "Ping", data: null });
 * assert.equal((await stores.commandLog.get(result.commandId))?.eventIds.length, 1);
 * await stores.close();
 * ```
 *
 * @module
 */

import type { Stores } from "../../mod.ts";
import { joinStores } from "../../src/store_kit/mod.ts";
import { type Kv, type KvKey, openKv } from "./kv.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";
import { KvCheckpointStore } from "./checkpoint_store.ts";
import { KvCommandLog } from "./command_log.ts";
import { KvEventStore } from "./event_store.ts";
import { KvSnapshotStore } from "./snapshot_store.ts";

export * from "./event_store.ts";
export * from "./command_log.ts";
export * from "./checkpoint_store.ts";
export * from "./snapshot_store.ts";
export * from "./limits.ts";
export * from "./kv.ts";

/**
 * The three KV stores on one handle, opened by {@linkcode openKvStores}.
 *
 * @example
 * ```ts
 * import { type KvStores, openKvStores } from "@verdict/verdict/kv";
 *
 * const stores: KvStores = await openKvStores(":memory:");
 * await stores.checkpoints.save("reports", 0);
 * await stores.close();
 * ```
 */
export interface KvStores extends Stores {
  /** The KV handle they share. */
  readonly kv: Kv;
  /** The event store; its `commandLog` is `commandLog`, for atomic audit. */
  readonly events: KvEventStore;
  /** The command log. */
  readonly commandLog: KvCommandLog;
  /** The checkpoint store. */
  readonly checkpoints: KvCheckpointStore;
  /** The snapshot store. */
  readonly snapshots: KvSnapshotStore;
  /** Closes the stores and the KV handle. */
  close(): Promise<void>;
}

/**
 * Opens a KV file (or `:memory:`) and the three stores on it, sharing one
 * prefix, with the command log committing atomically with appends.
 *
 * @example
 * ```ts
 * import { openKvStores } from "@verdict/verdict/kv";
 *
 * const path = await Deno.makeTempFile({ suffix: ".kv" });
 * const stores = await openKvStores(path);
 * await stores.events.appendToStream("s", [{ type: "A", data: {} }]);
 * await stores.close();
 * await Deno.remove(path);
 * ```
 */
export async function openKvStores(
  path: string | undefined,
  options: { prefix?: KvKey } = {},
): Promise<KvStores> {
  // Opening a file another process is writing can meet its lock too.
  const kv = await whileBusy("Deno KV", DEFAULT_BUSY_TIMEOUT_MS, () => openKv(path));
  const prefix = options.prefix ?? ["verdict"];
  const commandLog = new KvCommandLog(kv, { prefix });
  const events = new KvEventStore(kv, { prefix, commandLog });
  const checkpoints = new KvCheckpointStore(kv, { prefix });
  const snapshots = new KvSnapshotStore(kv, { prefix });
  return joinStores({ kv, events, commandLog, checkpoints, snapshots }, () => kv.close());
}
export * from "./document_store.ts";
