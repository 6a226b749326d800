/**
 * The in-memory snapshot store.
 *
 * @module
 */

import { type Snapshot, type SnapshotStore, StoreClosedError } from "../../mod.ts";
import { assertValidSnapshot } from "../../src/store_kit/mod.ts";
import { cloneData } from "./clone.ts";
import { settle } from "./settle.ts";

/**
 * Snapshots in this process's memory, copied in and out.
 *
 * @example
 * ```ts
 * import { MemorySnapshotStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const snapshots = new MemorySnapshotStore();
 * await snapshots.save({ streamId: "s", version: 5, schemaVersion: 1, state: { n: 5 }, takenAt: new Date() });
 * assert.deepEqual((await snapshots.load("s"))?.state, { n: 5 });
 * ```
 */
export class MemorySnapshotStore implements SnapshotStore {
  readonly #snapshots = new Map<string, Snapshot>();
  #closed = false;

  /** The stream's snapshot, if one was saved. */
  load<S = unknown>(streamId: string): Promise<Snapshot<S> | undefined> {
    return settle(() => {
      this.#assertOpen();
      const snapshot = this.#snapshots.get(streamId);
      return snapshot && (copy(snapshot) as Snapshot<S>);
    });
  }

  /** Saves a snapshot, unless one of a higher version is already there. */
  save<S = unknown>(snapshot: Snapshot<S>): Promise<void> {
    return settle(() => {
      this.#assertOpen();
      assertValidSnapshot(snapshot);
      const existing = this.#snapshots.get(snapshot.streamId);
      if (existing && existing.version > snapshot.version) return;
      this.#snapshots.set(snapshot.streamId, copy(snapshot));
    });
  }

  /** Closes the store. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("memory snapshot store");
  }
}

function copy(snapshot: Snapshot): Snapshot {
  return {
    ...snapshot,
    state: cloneData(snapshot.state),
    takenAt: new Date(snapshot.takenAt),
  };
}
