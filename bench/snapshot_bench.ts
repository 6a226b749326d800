/**
 * Loading a stream with and without a snapshot, as the stream grows from
 * 1,000 to 100,000 events (memory store): one command that decides nothing,
 * on a handler without a state cache, so every iteration loads the stream.
 *
 *   deno bench -A bench/snapshot_bench.ts
 */

import { CommandBus, type Decider, deciderHandler } from "@verdict/verdict";
import { MemoryEventStore, MemorySnapshotStore } from "@verdict/verdict/memory";

type Look = { type: "Look"; data: null };
type Counted = { type: "Counted"; data: { n: number } };
const counter: Decider<Look, number, Counted> = {
  initialState: () => 0,
  decide: () => [],
  evolve: (total, event) => total + event.data.n,
};

async function streamOf(
  length: number,
  withSnapshot: boolean,
): Promise<CommandBus<Look>> {
  const store = new MemoryEventStore();
  const events = Array.from(
    { length: 1_000 },
    () => ({ type: "Counted", data: { n: 1 } }),
  );
  for (let written = 0; written < length; written += 1_000) {
    await store.appendToStream("counter", events);
  }
  const snapshots = new MemorySnapshotStore();
  if (withSnapshot) {
    await snapshots.save({
      streamId: "counter",
      version: length,
      schemaVersion: 1,
      state: length,
      takenAt: new Date(),
    });
  }
  return new CommandBus<Look>().register(
    "Look",
    deciderHandler({
      decider: counter,
      store,
      cache: false,
      streamId: () => "counter",
      snapshots: { store: snapshots, every: 1_000 },
    }),
  );
}

const look: Look = { type: "Look", data: null };
for (const length of [1_000, 10_000, 100_000]) {
  for (const withSnapshot of [true, false]) {
    const bus = await streamOf(length, withSnapshot);
    Deno.bench({
      name: `${withSnapshot ? "with" : "without"} a snapshot, ${
        length.toLocaleString("en")
      } events`,
      group: "snapshots",
      baseline: withSnapshot && length === 1_000,
      async fn() {
        const result = await bus.dispatch(look);
        if (result.status !== "accepted") throw new Error(result.status);
      },
    });
  }
}
