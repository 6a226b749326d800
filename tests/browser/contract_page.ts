// Runs the contract suites against the IndexedDB stores, and the memory
// stores (the browser fallback), inside a real browser page and leaves the
// results on `window.verdictResults`.
import { dexieProjectionCases } from "../support/dexie_suite.ts";
import { memorySuites } from "../support/memory_suites.ts";
import { indexedDbSuites } from "../support/indexeddb_suites.ts";
import { type ContractCase, runContract } from "@verdict/verdict/testing";
import { IndexedDbEventStore, VerdictDatabase } from "@verdict/verdict/indexeddb";
import { coherentCacheCases } from "../support/coherent_cache.ts";

const suites: [string, ContractCase[]][] = [
  ...indexedDbSuites("browser-contract"),
  [
    "Dexie read models (no inline projections)",
    dexieProjectionCases("browser-dexie"),
  ],
  // The memory stores copy data with their own code, not the browser's
  // structured clone: they are proven here too, with the list deno test runs.
  ...memorySuites(),
  [
    "IndexedDB coherentCache (two stores on one database, BroadcastChannel)",
    coherentCacheCases(() =>
      new IndexedDbEventStore({ database: new VerdictDatabase("browser-coherent") })
    ),
  ],
];

interface Result {
  suite: string;
  name: string;
  passed: boolean;
  error?: string;
}
const results: Result[] = [];
for (const [suite, cases] of suites) {
  for (const result of await runContract(cases)) {
    results.push({
      suite,
      name: result.name,
      passed: result.passed,
      error: result.passed
        ? undefined
        : String((result.error as Error)?.stack ?? result.error),
    });
  }
}
(globalThis as { verdictResults?: Result[] }).verdictResults = results;
