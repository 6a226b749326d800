// Every contract suite the memory stores keep. `deno test`
// (tests/memory_store_test.ts, and under Node against the npm build) and real
// Chromium (tests/browser/contract_page.ts) both run this one list.
import {
  MemoryCheckpointStore,
  MemoryCommandLog,
  MemoryDocumentStore,
  MemoryEventStore,
  MemorySnapshotStore,
} from "@verdict/verdict/memory";
import { type ContractCase, storeSuites } from "@verdict/verdict/testing";
import { soak } from "./soak.ts";

/** The memory stores' suites: a name for each, and its cases. */
export function memorySuites(): [string, ContractCase[]][] {
  return storeSuites("memory", {
    events: () => new MemoryEventStore(),
    eventsWithLog: () => new MemoryEventStore({ commandLog: new MemoryCommandLog() }),
    documents: (projections) => {
      const documents = new MemoryDocumentStore();
      const events = new MemoryEventStore({
        inlineProjections: { store: documents, projections },
      });
      return { events, documents, close: () => events.close() };
    },
    commandLog: () => new MemoryCommandLog(),
    checkpoints: () => new MemoryCheckpointStore(),
    snapshots: () => new MemorySnapshotStore(),
    queries: true,
  }, { exactlyOnce: { commands: soak(2_000, 500) } });
}
