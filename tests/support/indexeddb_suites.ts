// Every contract suite the IndexedDB stores keep, each on fresh databases
// named `${prefix}-…`: under Deno on fake-indexeddb
// (tests/indexeddb_store_test.ts) and in real Chromium
// (tests/browser/contract_page.ts), the same list.
import {
  IndexedDbCheckpointStore,
  IndexedDbCommandLog,
  IndexedDbDocumentStore,
  IndexedDbEventStore,
  IndexedDbSnapshotStore,
  VerdictDatabase,
} from "@verdict/verdict/indexeddb";
import { type ContractCase, storeSuites } from "@verdict/verdict/testing";
import { indexedDbDamage } from "./indexeddb_damage.ts";
import { soak } from "./soak.ts";

/** The IndexedDB stores' suites: a name for each, and its cases. */
export function indexedDbSuites(prefix: string): [string, ContractCase[]][] {
  let n = 0;
  const fresh = () => new VerdictDatabase(`${prefix}-${Date.now()}-${n++}`);
  const names = new WeakMap<IndexedDbEventStore, string>();
  const withLog = () => {
    const database = fresh();
    return new IndexedDbEventStore({
      database,
      commandLog: new IndexedDbCommandLog({ database }),
    });
  };
  return storeSuites("IndexedDB", {
    events: () => new IndexedDbEventStore({ database: fresh() }),
    eventsWithLog: withLog,
    documents: (projections) => {
      const database = fresh();
      const documents = new IndexedDbDocumentStore({ database });
      const events = new IndexedDbEventStore({
        database,
        inlineProjections: { store: documents, projections },
      });
      return { events, documents, close: () => events.close() };
    },
    damage: {
      events: () => {
        const database = fresh();
        const store = new IndexedDbEventStore({ database });
        names.set(store, database.name);
        return store;
      },
      kit: indexedDbDamage((store) => names.get(store)!),
    },
    commandLog: () => new IndexedDbCommandLog({ database: fresh() }),
    checkpoints: () => new IndexedDbCheckpointStore({ database: fresh() }),
    snapshots: () => new IndexedDbSnapshotStore({ database: fresh() }),
    queries: true,
  }, { exactlyOnce: { commands: soak(2_000, 500) } });
}
