import assert from "node:assert/strict";
import {
  type Command,
  CommandBus,
  CommandRejectedError,
  CommandTimeoutError,
  correlation,
  deciderHandler,
  idempotency,
  observe,
  timeout,
  validate,
  ValidationError,
} from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { ManualClock } from "@verdict/verdict/testing";
import { z } from "zod";

type Pay = Command<"Pay", { amount: number; note?: string }>;
const nothing = { events: [], streams: [] };

Deno.test("validate()", async (t) => {
  await t.step("refuses what is not a map of schemas, saying so", () => {
    for (
      const [given, pattern] of [
        [null, /takes an object of schemas by command type, got null/],
        [[], /got an array/],
        [{ Deposit: {} }, /the schema for "Deposit" has no safeParse\(\)/],
      ] as const
    ) {
      assert.throws(
        () => validate(given as never),
        (error: unknown) => error instanceof TypeError && pattern.test(error.message),
      );
    }
  });

  const schemas = {
    Pay: z.object({ amount: z.number().positive(), note: z.string().default("none") }),
  };

  await t.step("rejects an invalid payload with every issue and its path", async () => {
    const bus = new CommandBus<Pay>().use(validate<Pay>(schemas));
    let ran = false;
    bus.register("Pay", () => {
      ran = true;
      return nothing;
    });
    const result = await bus.dispatch({
      type: "Pay",
      data: { amount: -1, note: 5 as never },
    });
    assert.equal(result.status, "rejected");
    assert.equal(ran, false);
    if (result.status !== "rejected") return;
    assert.ok(result.reason instanceof ValidationError);
    assert.deepEqual(result.reason.issues.map((i) => i.path), [["amount"], ["note"]]);
  });

  await t.step("hands the handler the parsed payload, defaults applied", async () => {
    const bus = new CommandBus<Pay>().use(validate<Pay>(schemas));
    let seen: Pay["data"] | undefined;
    bus.register("Pay", (command) => {
      seen = command.data;
      return nothing;
    });
    await bus.dispatch({ type: "Pay", data: { amount: 3 } });
    assert.deepEqual(seen, { amount: 3, note: "none" });
  });

  await t.step(
    "passes or refuses command types without a schema, as configured",
    async () => {
      const open = new CommandBus().use(validate({}));
      open.register("Other", () => nothing);
      assert.equal((await open.dispatch({ type: "Other", data: 1 })).status, "accepted");
      const closed = new CommandBus().use(validate({}, { unknownCommands: "reject" }));
      closed.register("Other", () => nothing);
      assert.equal(
        (await closed.dispatch({ type: "Other", data: 1 })).status,
        "rejected",
      );
    },
  );
});

Deno.test("correlation() starts a chain or continues one", async () => {
  const bus = new CommandBus().use(correlation());
  const seen: (string | undefined)[][] = [];
  bus.register("Ping", (_, ctx) => {
    seen.push([ctx.correlationId, ctx.causationId]);
    return nothing;
  });
  const first = await bus.dispatch({ type: "Ping", data: null });
  await bus.dispatch({ type: "Ping", data: null }, {
    correlationId: "c-1",
    causationId: "e-1",
  });
  assert.deepEqual(seen, [[first.commandId, undefined], ["c-1", "e-1"]]);

  const derived = new CommandBus().use(correlation({
    derive: (ctx) => ({ correlationId: String(ctx.metadata["x-request-id"]) }),
  }));
  derived.register("Ping", (_, ctx) => {
    seen.push([ctx.correlationId]);
    return nothing;
  });
  await derived.dispatch({ type: "Ping", data: null }, {
    metadata: { "x-request-id": "req-9" },
  });
  assert.deepEqual(seen.at(-1), ["req-9"]);
});

Deno.test("idempotency()", async (t) => {
  await t.step(
    "the same key gets the first result and the handler runs once",
    async () => {
      let runs = 0;
      const bus = new CommandBus().use(idempotency());
      bus.register("Pay", async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        return nothing;
      });
      const results = await Promise.all(
        Array.from(
          { length: 5 },
          () => bus.dispatch({ type: "Pay", data: 1 }, { idempotencyKey: "k" }),
        ),
      );
      assert.equal(runs, 1);
      assert.equal(
        new Set(results.map((r) => r.commandId)).size,
        1,
      );
      await bus.dispatch({ type: "Pay", data: 1 }, { idempotencyKey: "other" });
      await bus.dispatch({ type: "Pay", data: 1 });
      await bus.dispatch({ type: "Pay", data: 1 });
      assert.equal(runs, 4, "other keys and keyless commands run");
    },
  );

  await t.step(
    "a rejection is remembered, a failure is forgotten so it can be retried",
    async () => {
      let attempt = 0;
      const bus = new CommandBus().use(idempotency());
      bus.register("Pay", () => {
        attempt++;
        if (attempt === 1) throw new Error("database down");
        if (attempt === 2) throw new CommandRejectedError("card declined");
        return nothing;
      });
      const send = () => bus.dispatch({ type: "Pay", data: 1 }, { idempotencyKey: "k" });
      assert.equal((await send()).status, "failed");
      assert.equal((await send()).status, "rejected");
      assert.equal((await send()).status, "rejected");
      assert.equal(attempt, 2);
    },
  );

  await t.step("results expire after ttlMs", async () => {
    const clock = new ManualClock();
    let runs = 0;
    const bus = new CommandBus({ clock }).use(idempotency({ ttlMs: 1000 }));
    bus.register("Pay", () => {
      runs++;
      return nothing;
    });
    const send = () => bus.dispatch({ type: "Pay", data: 1 }, { idempotencyKey: "k" });
    await send();
    await clock.advance(999);
    await send();
    assert.equal(runs, 1);
    await clock.advance(1);
    await send();
    assert.equal(runs, 2);
  });
});

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

Deno.test("observe() sees every outcome, and its errors never change one", async () => {
  const outcomes: string[] = [];
  const reported: unknown[] = [];
  const bus = new CommandBus({ onError: (e) => reported.push(e) });
  bus.use(observe({
    onDispatch: (ctx) => outcomes.push(`start ${ctx.command.type}`),
    onOutcome: (ctx, result, ms) => {
      outcomes.push(`${ctx.command.type} ${result.status} ${ms >= 0}`);
      throw new Error("metrics exporter crashed");
    },
  }));
  bus.register("Ok", () => nothing);
  bus.register("No", () => {
    throw new CommandRejectedError("no");
  });
  assert.equal((await bus.dispatch({ type: "Ok", data: null })).status, "accepted");
  assert.equal((await bus.dispatch({ type: "No", data: null })).status, "rejected");
  assert.deepEqual(outcomes, [
    "start Ok",
    "Ok accepted true",
    "start No",
    "No rejected true",
  ]);
  assert.equal(reported.length, 2);
});
