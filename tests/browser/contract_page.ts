// Runs the contract suites against the IndexedDB stores, and the memory
// stores (the browser fallback), inside a real browser page and leaves the
// results on `window.verdictResults`.
import {
  IndexedDbCheckpointStore,
  IndexedDbCommandLog,
  IndexedDbDocumentStore,
  IndexedDbEventStore,
  IndexedDbSnapshotStore,
  VerdictDatabase,
} from "@verdict/verdict/indexeddb";
import { dexieProjectionCases } from "../support/dexie_suite.ts";
import { memorySuites } from "../support/memory_suites.ts";
import { indexedDbDamage } from "../support/indexeddb_damage.ts";
import {
  checkpointStoreContract,
  commandLogContract,
  type ContractCase,
  eventStoreContract,
  eventStoreDamageContract,
  exactlyOnceContract,
  projectionContract,
  runContract,
  snapshotStoreContract,
  streamHeads,
} from "@verdict/verdict/testing";

let n = 0;
const fresh = () => new VerdictDatabase(`browser-contract-${n++}`);

const damagedNames = new WeakMap<IndexedDbEventStore, string>();

const suites: [string, ContractCase[]][] = [
  [
    "event store with command log, under faults",
    exactlyOnceContract(() => {
      const database = fresh();
      return new IndexedDbEventStore({
        database,
        commandLog: new IndexedDbCommandLog({ database }),
      });
    }),
  ],
  [
    "event store on damaged rows",
    eventStoreDamageContract(() => {
      const database = fresh();
      const store = new IndexedDbEventStore({ database });
      damagedNames.set(store, database.name);
      return store;
    }, indexedDbDamage((store) => damagedNames.get(store)!)),
  ],
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
    "event store with inline projections",
    eventStoreContract(() => {
      const database = fresh();
      return new IndexedDbEventStore({
        database,
        inlineProjections: {
          store: new IndexedDbDocumentStore({ database }),
          projections: [streamHeads],
        },
      });
    }),
  ],
  [
    "document projections",
    projectionContract((projections) => {
      const database = fresh();
      const documents = new IndexedDbDocumentStore({ database });
      const events = new IndexedDbEventStore({
        database,
        inlineProjections: { store: documents, projections },
      });
      return { events, documents, close: () => events.close() };
    }),
  ],
  [
    "Dexie read models (no inline projections)",
    dexieProjectionCases("browser-dexie"),
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
  // The memory stores copy data with their own code, not the browser's
  // structured clone: they are proven here too, with the list deno test runs.
  ...memorySuites(),
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
