/**
 * The checkpoint store port: where followers keep the last global position
 * each named consumer has handled.
 *
 * @module
 */

/**
 * Where followers keep their checkpoints: the last global position each
 * named consumer has handled.
 *
 * @example
 * ```ts
 * import type { CheckpointStore } from "@verdict/verdict";
 * import { MemoryCheckpointStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const checkpoints: CheckpointStore = new MemoryCheckpointStore();
 * assert.equal(await checkpoints.load("balances"), 0);
 * await checkpoints.save("balances", 42);
 * assert.equal(await checkpoints.load("balances"), 42);
 * ```
 */
export interface CheckpointStore {
  /** The consumer's last handled position, 0 when it has none. */
  load(consumer: string): Promise<number>;
  /** Records the consumer's last handled position. */
  save(consumer: string, position: number): Promise<void>;
  /** Releases the store's resources. */
  close(): Promise<void>;
}
