/**
 * The snapshot-store contract suite.
 *
 * @module
 */

import type { SnapshotStore } from "../snapshot_store.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import { caseList } from "./_cases.ts";
import type { ContractCase } from "./contract.ts";

/**
 * Makes a new, empty snapshot store for one case.
 *
 * @example
 * ```ts
 * import type { SnapshotStoreFactory } from "@verdict/verdict/testing";
 * import { MemorySnapshotStore } from "@verdict/verdict/memory";
 *
 * const factory: SnapshotStoreFactory = () => new MemorySnapshotStore();
 * ```
 */
export type SnapshotStoreFactory = () => SnapshotStore | Promise<SnapshotStore>;

/**
 * The cases every snapshot store must pass.
 *
 * @example
 * ```ts
 * import { runContract, snapshotStoreContract } from "@verdict/verdict/testing";
 * import { MemorySnapshotStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(snapshotStoreContract(() => new MemorySnapshotStore()));
 * assert.ok(results.every((r) => r.passed));
 * ```
 */
export function snapshotStoreContract(factory: SnapshotStoreFactory): ContractCase[] {
  const { cases, test } = caseList(factory);
  const at = new Date(Date.UTC(2026, 0, 1));

  test("a stream without a snapshot loads as undefined", async (store) => {
    checkEqual(await store.load("nothing"), undefined, "snapshot");
  });

  test("a saved snapshot loads with its state, version and schema version", async (store) => {
    const state = { balance: 250, owner: "Ada ünï 🙂", history: [1, 2, { deep: true }] };
    await store.save({
      streamId: "account-1",
      version: 100,
      schemaVersion: 2,
      state,
      takenAt: at,
    });
    checkEqual(
      await store.load("account-1"),
      { streamId: "account-1", version: 100, schemaVersion: 2, state, takenAt: at },
      "snapshot",
    );
  });

  test("a newer snapshot replaces an older one; an older one never replaces a newer", async (store) => {
    await store.save({
      streamId: "s",
      version: 10,
      schemaVersion: 1,
      state: 10,
      takenAt: at,
    });
    await store.save({
      streamId: "s",
      version: 20,
      schemaVersion: 1,
      state: 20,
      takenAt: at,
    });
    checkEqual((await store.load("s"))?.version, 20, "after a newer save");
    await store.save({
      streamId: "s",
      version: 15,
      schemaVersion: 1,
      state: 15,
      takenAt: at,
    });
    checkEqual((await store.load("s"))?.state, 20, "a late, older save is ignored");
  });

  test("streams keep their own snapshots", async (store) => {
    await store.save({
      streamId: "a",
      version: 1,
      schemaVersion: 1,
      state: "a",
      takenAt: at,
    });
    await store.save({
      streamId: "b/with'quotes",
      version: 2,
      schemaVersion: 1,
      state: "b",
      takenAt: at,
    });
    checkEqual((await store.load("a"))?.state, "a", "a");
    checkEqual((await store.load("b/with'quotes"))?.state, "b", "b");
  });

  test("an invalid snapshot is refused", async (store) => {
    const error = await checkRejects(
      store.save({ streamId: "", version: 1, schemaVersion: 1, state: 0, takenAt: at }),
      "a snapshot without stream id",
    );
    check(error instanceof TypeError, `a TypeError, got ${String(error)}`);
  });

  return cases;
}
