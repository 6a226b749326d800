/**
 * The Deno KV checkpoint store.
 *
 * @module
 */

import type { Kv, KvKey } from "./kv.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";
import { type CheckpointStore, StoreClosedError } from "../../mod.ts";
import { assertValidCheckpoint } from "../../src/store_kit/mod.ts";

/**
 * Options of {@linkcode KvCheckpointStore}.
 *
 * @example
 * ```ts
 * import { KvCheckpointStore, type KvCheckpointStoreOptions } from "@verdict/verdict/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const options: KvCheckpointStoreOptions = { prefix: ["billing"], ownsKv: true };
 * const checkpoints = new KvCheckpointStore(kv, options);
 * await checkpoints.close();
 * ```
 */
export interface KvCheckpointStoreOptions {
  /** The key prefix (default `["verdict"]`). */
  readonly prefix?: KvKey;
  /** Close the KV handle when the store closes (default false). */
  readonly ownsKv?: boolean;
}

/**
 * Checkpoints on Deno KV, one key per consumer: `[prefix, "cp", consumer]`.
 *
 * @example
 * ```ts
 * import { KvCheckpointStore } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const checkpoints = new KvCheckpointStore(kv, { ownsKv: true });
 * await checkpoints.save("balances", 1025);
 * assert.equal(await checkpoints.load("balances"), 1025);
 * await checkpoints.close();
 * ```
 */
export class KvCheckpointStore implements CheckpointStore {
  readonly #kv: Kv;
  readonly #prefix: KvKey;
  readonly #ownsKv: boolean;
  #closed = false;

  /** Creates a checkpoint store over a KV handle. */
  constructor(kv: Kv, options: KvCheckpointStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["verdict"];
    this.#ownsKv = options.ownsKv ?? false;
  }

  /** The consumer's last handled position, 0 when it has none. */
  async load(consumer: string): Promise<number> {
    this.#assertOpen();
    assertValidCheckpoint(consumer, 0);
    const entry = await this.#kv.get<number>([...this.#prefix, "cp", consumer], {
      consistency: "strong",
    });
    return entry.value ?? 0;
  }

  /** Records the consumer's last handled position. */
  async save(consumer: string, position: number): Promise<void> {
    this.#assertOpen();
    assertValidCheckpoint(consumer, position);
    await whileBusy(
      "Deno KV checkpoint store",
      DEFAULT_BUSY_TIMEOUT_MS,
      () => this.#kv.set([...this.#prefix, "cp", consumer], position),
    );
  }

  /** Closes the store (and the KV handle, when it owns it). */
  close(): Promise<void> {
    if (!this.#closed && this.#ownsKv) this.#kv.close();
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Deno KV checkpoint store");
  }
}
