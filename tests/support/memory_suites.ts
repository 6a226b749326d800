// Every contract suite the memory stores keep, each with the factory it runs
// on. `deno test` (tests/memory_store_test.ts, and under Node against the npm
// build) and real Chromium (tests/browser/contract_page.ts) both run this one
// list, so a suite added here is proven everywhere.
import type { DocumentProjection } from "@verdict/verdict";
import {
  MemoryCheckpointStore,
  MemoryCommandLog,
  MemoryDocumentStore,
  MemoryEventStore,
  MemorySnapshotStore,
} from "@verdict/verdict/memory";
import {
  checkpointStoreContract,
  commandLogContract,
  type ContractCase,
  eventStoreContract,
  exactlyOnceContract,
  projectionContract,
  snapshotStoreContract,
  streamHeads,
} from "@verdict/verdict/testing";

/** The memory stores' suites: a name for each, and its cases. */
export function memorySuites(): [string, ContractCase[]][] {
  return [
    ["memory event store", eventStoreContract(() => new MemoryEventStore())],
    [
      "memory event store with a command log",
      eventStoreContract(() =>
        new MemoryEventStore({ commandLog: new MemoryCommandLog() })
      ),
    ],
    [
      "memory event store with inline projections",
      eventStoreContract(() =>
        new MemoryEventStore({
          inlineProjections: {
            store: new MemoryDocumentStore(),
            projections: [streamHeads],
          },
        })
      ),
    ],
    [
      "memory projection store",
      projectionContract((projections: readonly DocumentProjection[]) => {
        const documents = new MemoryDocumentStore();
        const events = new MemoryEventStore({
          inlineProjections: { store: documents, projections },
        });
        return { events, documents, close: () => events.close() };
      }),
    ],
    [
      "memory event store with its command log, under faults",
      exactlyOnceContract(() =>
        new MemoryEventStore({ commandLog: new MemoryCommandLog() })
      ),
    ],
    ["memory command log", commandLogContract(() => new MemoryCommandLog())],
    [
      "memory checkpoint store",
      checkpointStoreContract(() => new MemoryCheckpointStore()),
    ],
    ["memory snapshot store", snapshotStoreContract(() => new MemorySnapshotStore())],
  ];
}
