import {
  MemoryCheckpointStore,
  MemoryCommandLog,
  MemoryEventStore,
  MemorySnapshotStore,
} from "@verdict/verdict/memory";
import {
  checkpointStoreContract,
  commandLogContract,
  eventStoreContract,
  snapshotStoreContract,
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
