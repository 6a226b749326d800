/**
 * What a contract suite is made of, and a runner for one that needs no test
 * framework.
 *
 * @module
 */

/**
 * One named check of a contract suite.
 *
 * @example A case of your own, run beside the suite
 * ```ts
 * import { type ContractCase, eventStoreContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const mine: ContractCase = {
 *   name: "a new store is empty",
 *   async run() {
 *     assert.deepEqual(await new MemoryEventStore().readAll(), []);
 *   },
 * };
 * const results = await runContract([mine, ...eventStoreContract(() => new MemoryEventStore())]);
 * assert.ok(results.every((r) => r.passed));
 * ```
 */
export interface ContractCase {
  /** A sentence about the behaviour checked. */
  readonly name: string;
  /** Runs the check; rejects when the store does not behave. */
  run(): Promise<void>;
}

/**
 * The outcome of one case.
 *
 * @example Report failures by name
 * ```ts
 * import { type ContractCaseResult, eventStoreContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const report = (result: ContractCaseResult) =>
 *   console.log(`${result.passed ? "ok  " : "FAIL"} ${result.name}`);
 * await runContract(eventStoreContract(() => new MemoryEventStore()).slice(0, 3), report);
 * ```
 */
export interface ContractCaseResult {
  /** The case's name. */
  readonly name: string;
  /** Whether it passed. */
  readonly passed: boolean;
  /** Why it failed. */
  readonly error?: unknown;
}

/**
 * Runs contract cases one after another and reports each. Use it where no
 * test runner is at hand (a browser page, a script); under `deno test` or
 * `node:test`, run each case as a step instead.
 *
 * @example Run a suite on the memory store
 * ```ts
 * import { eventStoreContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(eventStoreContract(() => new MemoryEventStore()));
 * assert.ok(results.every((result) => result.passed));
 * ```
 */
export async function runContract(
  cases: readonly ContractCase[],
  onResult?: (result: ContractCaseResult) => void,
): Promise<ContractCaseResult[]> {
  const results: ContractCaseResult[] = [];
  for (const contractCase of cases) {
    let result: ContractCaseResult;
    try {
      await contractCase.run();
      result = { name: contractCase.name, passed: true };
    } catch (error) {
      result = { name: contractCase.name, passed: false, error };
    }
    results.push(result);
    onResult?.(result);
  }
  return results;
}
