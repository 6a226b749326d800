/**
 * The IndexedDB checkpoint store.
 *
 * @module
 */

import { type CheckpointStore, StoreClosedError } from "../../mod.ts";
import { assertValidCheckpoint } from "../../src/store_kit/mod.ts";
import type { IndexedDbStoreOptions } from "./command_log.ts";
import { translateStorageError, VerdictDatabase } from "./database.ts";

/**
 * Checkpoints in IndexedDB, one entry per consumer.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import { IndexedDbCheckpointStore, VerdictDatabase } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const checkpoints = new IndexedDbCheckpointStore({
 *   database: new VerdictDatabase("example-checkpoints"),
 * });
 * await checkpoints.save("balances", 12);
 * assert.equal(await checkpoints.load("balances"), 12);
 * await checkpoints.close();
 * ```
 */
export class IndexedDbCheckpointStore implements CheckpointStore {
  readonly #database: VerdictDatabase;
  #closed = false;

  /** Creates a checkpoint store; the database opens on first use. */
  constructor(options: IndexedDbStoreOptions = {}) {
    this.#database = options.database ?? new VerdictDatabase("verdict");
  }

  /** The consumer's last handled position, 0 when it has none. */
  async load(consumer: string): Promise<number> {
    this.#assertOpen();
    assertValidCheckpoint(consumer, 0);
    const db = await this.#database.open();
    return (await db.get("checkpoints", consumer))?.position ?? 0;
  }

  /** Records the consumer's last handled position. */
  async save(consumer: string, position: number): Promise<void> {
    this.#assertOpen();
    assertValidCheckpoint(consumer, position);
    const db = await this.#database.open();
    try {
      await db.put("checkpoints", { consumer, position });
    } catch (error) {
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
    if (this.#closed) throw new StoreClosedError("IndexedDB checkpoint store");
  }
}
