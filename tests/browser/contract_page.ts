// Runs the contract suites against the IndexedDB stores inside a real
// browser page and leaves the results on `window.verdictResults`.
import {
  IndexedDbCheckpointStore,
  IndexedDbCommandLog,
  IndexedDbEventStore,
  IndexedDbSnapshotStore,
  VerdictDatabase,
} from "@verdict/verdict/indexeddb";
import {
  checkpointStoreContract,
  commandLogContract,
  type ContractCase,
  eventStoreContract,
  runContract,
  snapshotStoreContract,
} from "@verdict/verdict/testing";

let n = 0;
const fresh = () => new VerdictDatabase(`browser-contract-${n++}`);

const suites: [string, ContractCase[]][] = [
  [
    "event store",
    eventStoreContract(() => new IndexedDbEventStore({ database: fresh() })),
  ],
  [
    "event store with command log",
    eventStoreContract(() => {
      const database = fresh();
      return new IndexedDbEventStore({
        database,
        commandLog: new IndexedDbCommandLog({ database }),
      });
    }),
  ],
  [
    "command log",
    commandLogContract(() => new IndexedDbCommandLog({ database: fresh() })),
  ],
  [
    "snapshot store",
    snapshotStoreContract(() => new IndexedDbSnapshotStore({ database: fresh() })),
  ],
  [
    "checkpoint store",
    checkpointStoreContract(() => new IndexedDbCheckpointStore({ database: fresh() })),
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
