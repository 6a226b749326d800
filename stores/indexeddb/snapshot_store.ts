/**
 * The IndexedDB snapshot store.
 *
 * @module
 */

import { type Snapshot, type SnapshotStore, StoreClosedError } from "../../mod.ts";
import { assertValidSnapshot } from "../../src/store_kit/mod.ts";
import type { IndexedDbStoreOptions } from "./command_log.ts";
import { abortQuietly, translateStorageError, VerdictDatabase } from "./database.ts";

/**
 * Snapshots in IndexedDB, one entry per stream; a save replaces the entry
 * only with a snapshot of a higher or equal version.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import { IndexedDbSnapshotStore, VerdictDatabase } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const snapshots = new IndexedDbSnapshotStore({ database: new VerdictDatabase("example-snapshots") });
 * await snapshots.save({ streamId: "s", version: 10, schemaVersion: 1, state: 10, takenAt: new Date() });
 * assert.equal((await snapshots.load("s"))?.version, 10);
 * await snapshots.close();
 * ```
 */
export class IndexedDbSnapshotStore implements SnapshotStore {
  readonly #database: VerdictDatabase;
  #closed = false;

  /** Creates a snapshot store; the database opens on first use. */
  constructor(options: IndexedDbStoreOptions = {}) {
    this.#database = options.database ?? new VerdictDatabase("verdict");
  }

  /** The stream's snapshot, if one was saved. */
  async load<S = unknown>(streamId: string): Promise<Snapshot<S> | undefined> {
    this.#assertOpen();
    const db = await this.#database.open();
    return await db.get("snapshots", streamId) as Snapshot<S> | undefined;
  }

  /** Saves a snapshot, unless one of a higher version is already there. */
  async save<S = unknown>(snapshot: Snapshot<S>): Promise<void> {
    this.#assertOpen();
    assertValidSnapshot(snapshot);
    const db = await this.#database.open();
    const tx = db.transaction("snapshots", "readwrite");
    try {
      const existing = await tx.store.get(snapshot.streamId);
      if (!existing || existing.version <= snapshot.version) await tx.store.put(snapshot);
      await tx.done;
    } catch (error) {
      await abortQuietly(tx);
      throw translateStorageError(this.#database.name, error);
    }
  }

  /** Closes the store and its database connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#database.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("IndexedDB snapshot store");
  }
}
