import assert from "node:assert/strict";
import {
  CommandBus,
  type Decider,
  deciderHandler,
  type SnapshotStore,
} from "@verdict/verdict";
import { MemoryEventStore, MemorySnapshotStore } from "@verdict/verdict/memory";
import { SpyStore } from "./support/spy_store.ts";

type Inc = { type: "Inc"; data: null };
const counter: Decider<Inc, number, { type: "Incremented"; data: null }> = {
  initialState: () => 0,
  decide: () => [{ type: "Incremented", data: null }],
  evolve: (n) => n + 1,
};

function bus(
  store: MemoryEventStore | SpyStore,
  snapshots: SnapshotStore,
  options: { schemaVersion?: number; onError?: (e: unknown) => void } = {},
) {
  return new CommandBus<Inc>({ onError: options.onError }).register(
    "Inc",
    deciderHandler({
      decider: counter,
      store,
      cache: false,
      streamId: () => "counter",
      snapshots: { store: snapshots, every: 10, schemaVersion: options.schemaVersion },
    }),
  );
}

Deno.test("snapshots in the decider handler", async (t) => {
  await t.step(
    "a snapshot is taken each time the stream crosses a multiple of `every`",
    async () => {
      const snapshots = new MemorySnapshotStore();
      const b = bus(new MemoryEventStore(), snapshots);
      for (let i = 0; i < 25; i++) await b.dispatch({ type: "Inc", data: null });
      const snapshot = await snapshots.load<number>("counter");
      assert.equal(snapshot?.version, 20);
      assert.equal(snapshot?.state, 20);
    },
  );

  await t.step(
    "loading starts from the snapshot and reads only the events after it",
    async () => {
      const memory = new MemoryEventStore();
      const snapshots = new MemorySnapshotStore();
      const writer = bus(memory, snapshots);
      for (let i = 0; i < 25; i++) await writer.dispatch({ type: "Inc", data: null });
      const spy = new SpyStore(memory);
      const reader = bus(spy, snapshots);
      await reader.dispatch({ type: "Inc", data: null });
      assert.deepEqual(spy.calls.readStream.map(([, o]) => o?.from), [21]);
      assert.equal(await memory.streamVersion("counter"), 26);
    },
  );

  await t.step(
    "a snapshot of another schema version is ignored: the stream is read in full",
    async () => {
      const memory = new MemoryEventStore();
      const snapshots = new MemorySnapshotStore();
      const writer = bus(memory, snapshots, { schemaVersion: 1 });
      for (let i = 0; i < 12; i++) await writer.dispatch({ type: "Inc", data: null });
      const spy = new SpyStore(memory);
      await bus(spy, snapshots, { schemaVersion: 2 }).dispatch({
        type: "Inc",
        data: null,
      });
      assert.deepEqual(spy.calls.readStream.map(([, o]) => o?.from), [1]);
    },
  );

  await t.step(
    "a snapshot that cannot be saved is reported, and the command still succeeds",
    async () => {
      const errors: unknown[] = [];
      const failing: SnapshotStore = {
        load: () => Promise.resolve(undefined),
        save: () => Promise.reject(new Error("snapshot storage down")),
        close: () => Promise.resolve(),
      };
      const b = bus(new MemoryEventStore(), failing, { onError: (e) => errors.push(e) });
      for (let i = 0; i < 10; i++) {
        assert.equal((await b.dispatch({ type: "Inc", data: null })).status, "accepted");
      }
      assert.equal((errors[0] as Error).message, "snapshot storage down");
    },
  );

  await t.step("an invalid snapshot policy is refused", () => {
    assert.throws(
      () =>
        deciderHandler({
          decider: counter,
          store: new MemoryEventStore(),
          streamId: () => "x",
          snapshots: { store: new MemorySnapshotStore(), every: 0 },
        }),
      RangeError,
    );
  });
});
