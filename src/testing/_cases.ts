/**
 * How the contract suites declare their cases: each case gets a fresh
 * resource from the factory and closes it afterwards, pass or fail.
 *
 * @module
 */

import type { ContractCase } from "./contract.ts";
import type { CheckpointStore } from "../checkpoint_store.ts";

/** Collects cases that each run against a fresh resource from `factory`. */
export function caseList<T extends { close(): Promise<void> }>(
  factory: () => T | Promise<T>,
): {
  readonly cases: ContractCase[];
  test(name: string, body: (resource: T) => Promise<void>): void;
} {
  const cases: ContractCase[] = [];
  return {
    cases,
    test(name, body) {
      cases.push({
        name,
        async run() {
          const resource = await factory();
          try {
            await body(resource);
          } finally {
            await resource.close();
          }
        },
      });
    },
  };
}

/** The suite's own checkpoints: the case tests the event store, not a checkpoint store. */
export class InMemoryCheckpoints implements CheckpointStore {
  readonly #positions = new Map<string, number>();
  load(consumer: string): Promise<number> {
    return Promise.resolve(this.#positions.get(consumer) ?? 0);
  }
  save(consumer: string, position: number): Promise<void> {
    this.#positions.set(consumer, position);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
