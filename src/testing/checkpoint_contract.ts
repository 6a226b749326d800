/**
 * The checkpoint-store contract suite.
 *
 * @module
 */

import type { CheckpointStore } from "../checkpoint_store.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import type { ContractCase } from "./contract.ts";
import { caseList } from "./_cases.ts";

/**
 * Makes a new, empty checkpoint store for one case.
 *
 * @example
 * ```ts
 * import type { CheckpointStoreFactory } from "@verdict/verdict/testing";
 * import { MemoryCheckpointStore } from "@verdict/verdict/memory";
 *
 * const factory: CheckpointStoreFactory = () => new MemoryCheckpointStore();
 * ```
 */
export type CheckpointStoreFactory = () => CheckpointStore | Promise<CheckpointStore>;

/**
 * The cases every checkpoint store must pass.
 *
 * @example
 * ```ts
 * import { checkpointStoreContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryCheckpointStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(checkpointStoreContract(() => new MemoryCheckpointStore()));
 * assert.ok(results.every((r) => r.passed));
 * ```
 */
export function checkpointStoreContract(factory: CheckpointStoreFactory): ContractCase[] {
  const { cases, test } = caseList(factory);

  test("a consumer without a checkpoint starts at 0", async (store) => {
    checkEqual(await store.load("new-consumer"), 0, "checkpoint");
  });

  test("save() then load() returns the position, and later saves replace it", async (store) => {
    await store.save("projector", 10);
    checkEqual(await store.load("projector"), 10, "after the first save");
    await store.save("projector", 250);
    checkEqual(await store.load("projector"), 250, "after the second save");
  });

  test("consumers keep their own checkpoints, whatever their names", async (store) => {
    const names = ["a", "b/with/slashes", "ünïcödé-🙂", "'; DROP TABLE checkpoints; --"];
    for (const [i, name] of names.entries()) await store.save(name, i + 1);
    for (const [i, name] of names.entries()) {
      checkEqual(await store.load(name), i + 1, `checkpoint of ${name}`);
    }
  });

  test("invalid names and positions are refused", async (store) => {
    for (const [name, position] of [["", 1], ["x", -1], ["x", 1.5]] as const) {
      const error = await checkRejects(
        store.save(name, position),
        `save(${name}, ${position})`,
      );
      check(
        error instanceof TypeError || error instanceof RangeError,
        `a TypeError or RangeError, got ${String(error)}`,
      );
    }
    checkEqual(await store.load("x"), 0, "nothing saved");
  });

  return cases;
}
