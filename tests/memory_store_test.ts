import type { DocumentProjection } from "@verdict/verdict";
import {
  MemoryCheckpointStore,
  MemoryCommandLog,
  MemoryEventStore,
  MemoryProjectionStore,
  MemorySnapshotStore,
} from "@verdict/verdict/memory";
import {
  checkpointStoreContract,
  commandLogContract,
  eventStoreContract,
  projectionContract,
  snapshotStoreContract,
  streamHeads,
} from "@verdict/verdict/testing";

Deno.test("the memory event store keeps the event-store contract", async (t) => {
  for (const c of eventStoreContract(() => new MemoryEventStore())) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the memory event store with a command log keeps the event-store contract", async (t) => {
  const factory = () => new MemoryEventStore({ commandLog: new MemoryCommandLog() });
  for (const c of eventStoreContract(factory)) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the memory command log keeps the command-log contract", async (t) => {
  for (const c of commandLogContract(() => new MemoryCommandLog())) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the memory checkpoint store keeps the checkpoint contract", async (t) => {
  for (const c of checkpointStoreContract(() => new MemoryCheckpointStore())) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the memory snapshot store keeps the snapshot contract", async (t) => {
  for (const c of snapshotStoreContract(() => new MemorySnapshotStore())) {
    await t.step(c.name, c.run);
  }
});

Deno.test("the memory stores keep the document-projection contract", async (t) => {
  const factory = (projections: readonly DocumentProjection[]) => {
    const documents = new MemoryProjectionStore();
    const events = new MemoryEventStore({
      inlineProjections: { store: documents, projections },
    });
    return { events, documents, close: () => events.close() };
  };
  for (const c of projectionContract(factory)) await t.step(c.name, c.run);
});

Deno.test("the memory event store with inline projections keeps the event-store contract", async (t) => {
  const factory = () =>
    new MemoryEventStore({
      inlineProjections: {
        store: new MemoryProjectionStore(),
        projections: [streamHeads],
      },
    });
  for (const c of eventStoreContract(factory)) await t.step(c.name, c.run);
});
