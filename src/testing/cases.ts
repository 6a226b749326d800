/**
 * How the contract suites declare their cases: each case gets a fresh
 * resource from the factory and closes it afterwards, pass or fail.
 *
 * @module
 */

import type { ContractCase } from "./contract.ts";

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
