/**
 * The Deno KV snapshot store.
 *
 * @module
 */

import type { Kv, KvKey } from "./kv.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";
import { type Snapshot, type SnapshotStore, StoreClosedError } from "../../mod.ts";
import { assertValidSnapshot } from "../../src/store_kit/mod.ts";
import { KvBudget } from "./limits.ts";

/**
 * Options of {@linkcode KvSnapshotStore}.
 *
 * @example
 * ```ts
 * import { KvSnapshotStore, type KvSnapshotStoreOptions } from "@verdict/verdict/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const options: KvSnapshotStoreOptions = { prefix: ["billing"], ownsKv: true };
 * const snapshots = new KvSnapshotStore(kv, options);
 * await snapshots.close();
 * ```
 */
export interface KvSnapshotStoreOptions {
  /** The key prefix (default `["verdict"]`). */
  readonly prefix?: KvKey;
  /** Close the KV handle when the store closes (default false). */
  readonly ownsKv?: boolean;
}

interface StoredSnapshot {
  version: number;
  schemaVersion: number;
  state: unknown;
  takenAt: Date;
}

/**
 * Snapshots on Deno KV, one key per stream: `[prefix, "snap", streamId]`. A
 * snapshot must fit in one KV value (64 KiB); a larger one fails with a
 * `KvLimitError` and the decider handler reports it and goes on.
 *
 * @example
 * ```ts
 * import { KvSnapshotStore } from "@verdict/verdict/kv";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const snapshots = new KvSnapshotStore(kv, { ownsKv: true });
 * await snapshots.save({ streamId: "s", version: 10, schemaVersion: 1, state: 10, takenAt: new Date() });
 * assert.equal((await snapshots.load("s"))?.version, 10);
 * await snapshots.close();
 * ```
 */
export class KvSnapshotStore implements SnapshotStore {
  readonly #kv: Kv;
  readonly #prefix: KvKey;
  readonly #ownsKv: boolean;
  #closed = false;

  /** Creates a snapshot store over a KV handle. */
  constructor(kv: Kv, options: KvSnapshotStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["verdict"];
    this.#ownsKv = options.ownsKv ?? false;
  }

  /** The stream's snapshot, if one was saved. */
  async load<S = unknown>(streamId: string): Promise<Snapshot<S> | undefined> {
    this.#assertOpen();
    const entry = await this.#kv.get<StoredSnapshot>(
      [...this.#prefix, "snap", streamId],
      {
        consistency: "strong",
      },
    );
    return entry.value ? { streamId, ...entry.value } as Snapshot<S> : undefined;
  }

  /** Saves a snapshot, unless one of a higher version is already there. */
  async save<S = unknown>(snapshot: Snapshot<S>): Promise<void> {
    this.#assertOpen();
    assertValidSnapshot(snapshot);
    const key = [...this.#prefix, "snap", snapshot.streamId];
    const value: StoredSnapshot = {
      version: snapshot.version,
      schemaVersion: snapshot.schemaVersion,
      state: snapshot.state,
      takenAt: snapshot.takenAt,
    };
    const budget = new KvBudget();
    budget.set(key, value, `the snapshot of stream "${snapshot.streamId}"`);
    budget.assertWithin(`the snapshot of stream "${snapshot.streamId}"`);
    for (let attempt = 0; attempt < 10; attempt++) {
      const existing = await this.#kv.get<StoredSnapshot>(key, { consistency: "strong" });
      if (existing.value && existing.value.version > snapshot.version) return;
      const operation = this.#kv.atomic().check(existing).set(key, value);
      const result = await whileBusy(
        "Deno KV snapshot store",
        DEFAULT_BUSY_TIMEOUT_MS,
        () => operation.commit(),
      );
      if (result.ok) return;
    }
  }

  /** Closes the store (and the KV handle, when it owns it). */
  close(): Promise<void> {
    if (!this.#closed && this.#ownsKv) this.#kv.close();
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Deno KV snapshot store");
  }
}
