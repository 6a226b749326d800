// Upcasting: events stored in an older shape are read in the current one,
// through every read a store offers; what cannot be upcast is refused.
import assert from "node:assert/strict";
import {
  audit,
  CommandBus,
  CommandRejectedError,
  deciderHandler,
  schemaVersionOf,
  UpcastError,
  withUpcasting,
} from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";

type Deposited = { type: "Deposited"; data: { cents: number } };
// Version 1 stored `amount` in whole units; version 2 stores `cents`.
const options = {
  currentVersions: { Deposited: 2 },
  upcasters: [{
    type: "Deposited",
    from: 1,
    upcast: (data: unknown) => ({ cents: (data as { amount: number }).amount * 100 }),
  }],
};
async function storeWithOldEvent() {
  const raw = new MemoryEventStore({ commandLog: new MemoryCommandLog() });
  await raw.appendToStream("a", [{
    id: "old-1",
    type: "Deposited",
    data: { amount: 3 },
    metadata: { schemaVersion: 1 },
  }]);
  return { raw, store: withUpcasting(raw, options) };
}

Deno.test("withUpcasting", async (t) => {
  await t.step(
    "readStream and readAll give old events in the current shape",
    async () => {
      const { store } = await storeWithOldEvent();
      const [read] = await store.readStream<Deposited>("a");
      assert.deepEqual(read.data, { cents: 300 });
      assert.equal(schemaVersionOf(read), 2);
      assert.deepEqual((await store.readAll<Deposited>())[0].data, { cents: 300 });
    },
  );

  await t.step("readEvents is kept, and upcasts too", async () => {
    const { store } = await storeWithOldEvent();
    assert.equal(typeof store.readEvents, "function", "the wrapped store reads by id");
    const [read] = await store.readEvents!<Deposited>(["old-1"]);
    assert.deepEqual(read.data, { cents: 300 });
  });

  await t.step("new events are stamped with the current version", async () => {
    const { raw, store } = await storeWithOldEvent();
    await store.appendToStream("a", [{ type: "Deposited", data: { cents: 5 } }]);
    const [, stored] = await raw.readStream("a");
    assert.equal(schemaVersionOf(stored), 2);
  });

  await t.step(
    "an event without an upcaster, or from newer code, is an UpcastError",
    async () => {
      const raw = new MemoryEventStore();
      await raw.appendToStream("a", [
        { type: "Deposited", data: {}, metadata: { schemaVersion: 3 } },
      ]);
      await assert.rejects(withUpcasting(raw, options).readStream("a"), UpcastError);
      const missing = withUpcasting(raw, {
        currentVersions: { Deposited: 4 },
        upcasters: [],
      });
      await assert.rejects(missing.readStream("a"), UpcastError);
    },
  );

  await t.step("two upcasters for one step are refused", () => {
    assert.throws(
      () =>
        withUpcasting(new MemoryEventStore(), {
          ...options,
          upcasters: [...options.upcasters, ...options.upcasters],
        }),
      TypeError,
    );
  });

  await t.step(
    "a command dispatched again under its id answers with its first outcome: its events, read back by id",
    async () => {
      const log = new MemoryCommandLog();
      const store = withUpcasting(new MemoryEventStore({ commandLog: log }), options);
      const bus = new CommandBus<{ type: "Deposit"; data: { cents: number } }>()
        .use(audit(log))
        .register(
          "Deposit",
          deciderHandler({
            decider: {
              initialState: () => 0,
              // One deposit per account: the same command decided again is refused.
              decide: (command, total) => {
                if (total > 0) throw new CommandRejectedError("already funded");
                return [{ type: "Deposited", data: { cents: command.data.cents } }];
              },
              evolve: (total: number, event: Deposited) => total + event.data.cents,
            },
            store,
            streamId: () => "a",
          }),
        );
      const command = { type: "Deposit" as const, data: { cents: 7 } };
      const first = await bus.dispatch(command, { commandId: "c-1" });
      const again = await bus.dispatch(command, { commandId: "c-1" });
      assert.equal(first.status, "accepted");
      assert.equal(again.status, "accepted");
      assert.deepEqual(
        again.status === "accepted" && again.events.map((e) => e.id),
        first.status === "accepted" && first.events.map((e) => e.id),
      );
    },
  );
});
