/**
 * Snapshots: a stream's folded state at a version, so loading a long stream
 * reads only the events after it.
 *
 * @module
 */

/**
 * A stream's state as folded up to `version`, kept with the schema version
 * of the state's shape.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "@verdict/verdict";
 *
 * const snapshot: Snapshot<{ balance: number }> = {
 *   streamId: "account-1",
 *   version: 1_000,
 *   schemaVersion: 1,
 *   state: { balance: 250 },
 *   takenAt: new Date(),
 * };
 * ```
 */
export interface Snapshot<S = unknown> {
  /** The stream. */
  readonly streamId: string;
  /** The stream version the state reflects. */
  readonly version: number;
  /** The version of the state's shape; a snapshot of another version is ignored. */
  readonly schemaVersion: number;
  /** The folded state. */
  readonly state: S;
  /** When the snapshot was taken. */
  readonly takenAt: Date;
}

/**
 * Where snapshots live: at most one per stream, the one of the highest
 * version saved.
 *
 * @example
 * ```ts
 * import type { SnapshotStore } from "@verdict/verdict";
 * import { MemorySnapshotStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const snapshots: SnapshotStore = new MemorySnapshotStore();
 * await snapshots.save({ streamId: "s", version: 10, schemaVersion: 1, state: 42, takenAt: new Date() });
 * assert.equal((await snapshots.load<number>("s"))?.state, 42);
 * ```
 */
export interface SnapshotStore {
  /** The stream's snapshot, if one was saved. */
  load<S = unknown>(streamId: string): Promise<Snapshot<S> | undefined>;
  /** Saves a snapshot, unless one of a higher version is already there. */
  save<S = unknown>(snapshot: Snapshot<S>): Promise<void>;
  /** Releases the store's resources. */
  close(): Promise<void>;
}

/**
 * How the decider handler uses snapshots.
 *
 * @example Snapshot every 100 events
 * ```ts
 * import { deciderHandler, type SnapshotPolicy } from "@verdict/verdict";
 * import { MemoryEventStore, MemorySnapshotStore } from "@verdict/verdict/memory";
 *
 * const snapshots: SnapshotPolicy = { store: new MemorySnapshotStore(), every: 100 };
 * const handler = deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Hit", data: null }], evolve: (n) => n + 1 },
 *   store: new MemoryEventStore(),
 *   streamId: () => "counter",
 *   snapshots,
 * });
 * ```
 */
export interface SnapshotPolicy {
  /** Where the snapshots live. */
  readonly store: SnapshotStore;
  /** Take a snapshot each time a stream crosses a multiple of this many events. */
  readonly every: number;
  /**
   * The version of the state's shape (default 1). Change it when the state
   * changes shape: older snapshots are then ignored and streams are read in
   * full, until new snapshots are taken.
   */
  readonly schemaVersion?: number;
}

/**
 * Throws unless a snapshot is well formed: a stream id, a version ≥ 1 and an
 * integer schema version.
 *
 * @example
 * ```ts
 * import { assertValidSnapshot } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => assertValidSnapshot({ streamId: "", version: 1, schemaVersion: 1, state: 0, takenAt: new Date() }),
 *   TypeError,
 * );
 * ```
 */
export function assertValidSnapshot(snapshot: Snapshot): void {
  if (typeof snapshot?.streamId !== "string" || snapshot.streamId.length === 0) {
    throw new TypeError("A snapshot needs a non-empty stream id");
  }
  if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 1) {
    throw new RangeError(
      `A snapshot's version must be an integer >= 1, got ${snapshot.version}`,
    );
  }
  if (!Number.isSafeInteger(snapshot.schemaVersion)) {
    throw new RangeError(
      `A snapshot's schema version must be an integer, got ${snapshot.schemaVersion}`,
    );
  }
  if (!(snapshot.takenAt instanceof Date)) {
    throw new TypeError("A snapshot needs a takenAt Date");
  }
}
