/**
 * For store authors: an `open*Stores` result from its four ports.
 *
 * @module
 */

import type { Stores } from "../stores.ts";

/**
 * The {@linkcode Stores} of four ports on one backing (and whatever else
 * the result carries, such as its handle), closed together and once: the
 * event store, the command log, the checkpoints and the snapshots, then
 * `closeBacking` — the handle the stores share, when the opener opened it.
 *
 * @example
 * ```ts
 * import { joinStores } from "@verdict/verdict/store-kit";
 * import {
 *   MemoryCheckpointStore,
 *   MemoryCommandLog,
 *   MemoryEventStore,
 *   MemorySnapshotStore,
 * } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const commandLog = new MemoryCommandLog();
 * let backingClosed = 0;
 * const stores = joinStores({
 *   events: new MemoryEventStore({ commandLog }),
 *   commandLog,
 *   checkpoints: new MemoryCheckpointStore(),
 *   snapshots: new MemorySnapshotStore(),
 * }, () => void backingClosed++);
 * await stores.close();
 * await stores.close();
 * assert.equal(backingClosed, 1);
 * ```
 */
export function joinStores<S extends Omit<Stores, "close">>(
  ports: S,
  closeBacking?: () => Promise<void> | void,
): S & Pick<Stores, "close"> {
  let closing: Promise<void> | undefined;
  const close = async () => {
    await ports.events.close();
    await ports.commandLog.close();
    await ports.checkpoints.close();
    await ports.snapshots.close();
    await closeBacking?.();
  };
  return { ...ports, close: () => closing ??= close() };
}
