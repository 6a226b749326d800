import assert from "node:assert/strict";
import {
  type Command,
  CommandBus,
  CommandTimeoutError,
  deciderHandler,
  timeout,
} from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { ManualClock } from "@verdict/verdict/testing";

type Pay = Command<"Pay", { amount: number; note?: string }>;
const nothing = { events: [], streams: [] };

Deno.test("timeout()", async (t) => {
  await t.step("fails a command still running at its deadline", async () => {
    const clock = new ManualClock();
    const bus = new CommandBus({ clock }).use(timeout(100));
    bus.register("Slow", async (_, ctx) => {
      await ctx.clock.sleep(1_000, ctx.signal);
      return nothing;
    });
    const pending = bus.dispatch({ type: "Slow", data: null });
    await clock.advance(100);
    const result = await pending;
    assert.equal(result.status, "failed");
    if (result.status === "failed") {
      assert.ok(result.error instanceof CommandTimeoutError);
    }
  });

  await t.step("keeps the caller's earlier deadline", async () => {
    const clock = new ManualClock();
    const bus = new CommandBus({ clock }).use(timeout(10_000));
    let deadline: number | undefined;
    bus.register("Ping", (_, ctx) => {
      deadline = ctx.deadline;
      return nothing;
    });
    await bus.dispatch({ type: "Ping", data: null }, { deadline: clock.now() + 5 });
    assert.equal(deadline, clock.now() + 5);
  });

  await t.step("stops a decider handler's conflict retries without writing", async () => {
    const clock = new ManualClock();
    const store = new MemoryEventStore();
    const bus = new CommandBus<Command<"Inc", null>>({ clock }).use(timeout(50));
    let decisions = 0;
    bus.register(
      "Inc",
      deciderHandler({
        decider: {
          initialState: () => 0,
          decide: () => {
            decisions++;
            return [{ type: "Incremented", data: null }];
          },
          evolve: (n: number) => n + 1,
        },
        store: {
          ...store,
          commandLog: undefined,
          streamVersion: (id) => store.streamVersion(id),
          readStream: (id, o) => store.readStream(id, o),
          readAll: (o) => store.readAll(o),
          appendToStreams: (a, o) => store.appendToStreams(a, o),
          close: () => store.close(),
          // Every append conflicts.
          appendToStream: (id) =>
            store.streamVersion(id).then((v) =>
              store.appendToStream(id, [], {
                expectedVersion: v + 1,
              })
            ),
        },
        streamId: () => "counter",
        retry: { maxAttempts: 100, baseDelayMs: 20, maxDelayMs: 20, random: () => 1 },
      }),
    );
    const pending = bus.dispatch({ type: "Inc", data: null });
    for (let i = 0; i < 5; i++) await clock.advance(20);
    const result = await pending;
    assert.equal(result.status, "failed");
    if (result.status === "failed") {
      assert.ok(result.error instanceof CommandTimeoutError);
    }
    assert.ok(decisions < 10, `stopped after ${decisions} decisions`);
    assert.equal(await store.streamVersion("counter"), 0);
  });

  await t.step("refuses a non-positive timeout", () => {
    assert.throws(() => timeout(0), RangeError);
  });
});
