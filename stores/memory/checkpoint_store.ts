/**
 * The in-memory checkpoint store.
 *
 * @module
 */

import { type CheckpointStore, StoreClosedError } from "../../mod.ts";
import { assertValidCheckpoint } from "../../src/store_kit/mod.ts";
import { settle } from "./settle.ts";

/**
 * Checkpoints in this process's memory, for tests and development.
 *
 * @example
 * ```ts
 * import { MemoryCheckpointStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const checkpoints = new MemoryCheckpointStore();
 * await checkpoints.save("emails", 7);
 * assert.equal(await checkpoints.load("emails"), 7);
 * ```
 */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly #positions = new Map<string, number>();
  #closed = false;

  /** The consumer's last handled position, 0 when it has none. */
  load(consumer: string): Promise<number> {
    return settle(() => {
      this.#assertOpen();
      assertValidCheckpoint(consumer, 0);
      return this.#positions.get(consumer) ?? 0;
    });
  }

  /** Records the consumer's last handled position. */
  save(consumer: string, position: number): Promise<void> {
    return settle(() => {
      this.#assertOpen();
      assertValidCheckpoint(consumer, position);
      this.#positions.set(consumer, position);
    });
  }

  /** Closes the store. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("memory checkpoint store");
  }
}
