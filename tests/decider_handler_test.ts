import assert from "node:assert/strict";
import {
  CommandBus,
  CommandTimeoutError,
  ConcurrencyError,
  deciderHandler,
  type Event,
  type EventStore,
  fold,
  type MultiStreamDecider,
  StateCache,
} from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { ManualClock } from "@verdict/verdict/testing";
import {
  type Account,
  accountDecider,
  accountDefinition,
  accountStream,
  type BankCommand,
  type BankEvent,
  transferDefinition,
} from "../examples/bank.ts";
import { SpyStore } from "./support/spy_store.ts";

function bankBus(
  store: EventStore,
  options: {
    cache?: StateCache<Account> | false;
    clock?: ManualClock;
    maxAttempts?: number;
  } = {},
) {
  // One cache for both handlers, so a transfer sees what deposits cached.
  const settings = {
    store,
    cache: options.cache ?? new StateCache<Account>(),
    retry: { maxAttempts: options.maxAttempts ?? 10, baseDelayMs: 1, maxDelayMs: 4 },
  };
  const account = deciderHandler({ ...accountDefinition, ...settings });
  return new CommandBus<BankCommand>({ clock: options.clock })
    .register("OpenAccount", account)
    .register("Deposit", account)
    .register("Withdraw", account)
    .register("Transfer", deciderHandler({ ...transferDefinition, ...settings }));
}

const open = (accountId: string): BankCommand => ({
  type: "OpenAccount",
  data: { accountId, owner: accountId },
});
const deposit = (accountId: string, amount: number): BankCommand => ({
  type: "Deposit",
  data: { accountId, amount },
});
const withdraw = (accountId: string, amount: number): BankCommand => ({
  type: "Withdraw",
  data: { accountId, amount },
});

async function balance(store: EventStore, accountId: string): Promise<number> {
  return fold(accountDecider, await store.readStream<BankEvent>(accountStream(accountId)))
    .balance;
}

Deno.test("deciderHandler", async (t) => {
  await t.step(
    "decides, appends and reports the events with their versions",
    async () => {
      const store = new MemoryEventStore();
      const bus = bankBus(store);
      await bus.dispatch(open("a"));
      const result = await bus.dispatch(deposit("a", 10));
      assert.equal(result.status, "accepted");
      if (result.status !== "accepted") return;
      assert.deepEqual(result.events.map((e) => [e.type, e.version]), [[
        "MoneyDeposited",
        2,
      ]]);
      assert.deepEqual(result.streams, [{ streamId: "account-a", version: 2 }]);
      assert.equal(await balance(store, "a"), 10);
    },
  );

  await t.step("a cached, current state is used without reading the stream", async () => {
    const store = new SpyStore(new MemoryEventStore());
    const bus = bankBus(store);
    await bus.dispatch(open("a"));
    for (let i = 0; i < 50; i++) await bus.dispatch(deposit("a", 1));
    assert.equal(
      store.calls.readStream.length,
      1,
      "only the first command read the stream",
    );
    assert.equal(store.calls.streamVersion, 0);
    assert.equal(await balance(store, "a"), 50);
  });

  await t.step("without a cache every command reads the whole stream", async () => {
    const store = new SpyStore(new MemoryEventStore());
    const bus = bankBus(store, { cache: false });
    await bus.dispatch(open("a"));
    await bus.dispatch(deposit("a", 1));
    await bus.dispatch(deposit("a", 1));
    assert.deepEqual(store.calls.readStream.map(([, o]) => o?.from), [1, 1, 1]);
  });

  await t.step(
    "a stale cache turns into a conflict, then catches up on new events only",
    async () => {
      const memory = new MemoryEventStore();
      const store = new SpyStore(memory);
      const bus = bankBus(store);
      await bus.dispatch(open("a"));
      await bus.dispatch(deposit("a", 5));
      // Another process writes behind this bus's cache.
      await memory.appendToStream(accountStream("a"), [
        { type: "MoneyDeposited", data: { accountId: "a", amount: 100 } },
      ]);
      store.calls.readStream.length = 0;
      const result = await bus.dispatch(withdraw("a", 105));
      assert.equal(result.status, "accepted", "decided on the caught-up balance of 105");
      assert.deepEqual(store.calls.readStream, [["account-a", { from: 3 }]]);
      assert.equal(await balance(store, "a"), 0);
    },
  );

  await t.step(
    "a rejection made on a stale cache is rechecked before it is reported",
    async () => {
      const memory = new MemoryEventStore();
      const store = new SpyStore(memory);
      const bus = bankBus(store);
      await bus.dispatch(open("a"));
      await memory.appendToStream(accountStream("a"), [
        { type: "MoneyDeposited", data: { accountId: "a", amount: 100 } },
      ]);
      const result = await bus.dispatch(withdraw("a", 60));
      assert.equal(result.status, "accepted");
      const refused = await bus.dispatch(withdraw("a", 60));
      assert.equal(refused.status, "rejected", "40 left: a current refusal stands");
      assert.equal(await balance(store, "a"), 40);
    },
  );

  await t.step(
    "concurrent writers through separate caches never lose a deposit",
    async () => {
      const store = new MemoryEventStore();
      await bankBus(store).dispatch(open("a"));
      const instances = Array.from({ length: 4 }, () => bankBus(store));
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => instances[i % 4].dispatch(deposit("a", 1))),
      );
      assert.deepEqual(results.filter((r) => r.status !== "accepted"), []);
      assert.equal(await balance(store, "a"), 40);
    },
  );

  await t.step(
    "conflicts back off with jitter on the clock, then give up as failed",
    async () => {
      const clock = new ManualClock();
      const memory = new MemoryEventStore();
      const store = new SpyStore(memory);
      await memory.appendToStream(accountStream("a"), [
        { type: "AccountOpened", data: { accountId: "a", owner: "a" } },
      ]);
      // Someone always writes first.
      store.beforeAppend = async () => {
        await memory.appendToStream(accountStream("a"), [
          { type: "MoneyDeposited", data: { accountId: "a", amount: 1 } },
        ]);
      };
      const bus = bankBus(store, { clock, maxAttempts: 3 });
      const pending = bus.dispatch(deposit("a", 1));
      for (let i = 0; i < 5 && store.calls.append < 3; i++) await clock.advance(10);
      const result = await pending;
      assert.equal(result.status, "failed");
      if (result.status === "failed") {
        assert.ok(result.error instanceof ConcurrencyError);
        assert.equal(result.error.streamId, "account-a");
      }
      assert.equal(store.calls.append, 3, "three attempts in all");
    },
  );

  await t.step("onConflict() hears every conflict with its attempt number", async () => {
    const memory = new MemoryEventStore();
    const store = new SpyStore(memory);
    let sneaks = 2;
    store.beforeAppend = async () => {
      if (sneaks-- > 0) {
        await memory.appendToStream("counter", [{ type: "Sneaked", data: null }]);
      }
    };
    const heard: [string, number][] = [];
    const bus = new CommandBus<{ type: "Inc"; data: null }>();
    bus.register(
      "Inc",
      deciderHandler({
        decider: {
          initialState: () => 0,
          decide: () => [{ type: "Incremented", data: null }],
          evolve: (n: number) => n + 1,
        },
        store,
        streamId: () => "counter",
        retry: { baseDelayMs: 0 },
        onConflict: (error, attempt) => heard.push([error.streamId, attempt]),
      }),
    );
    assert.equal((await bus.dispatch({ type: "Inc", data: null })).status, "accepted");
    assert.deepEqual(heard, [["counter", 1], ["counter", 2]]);
  });

  await t.step("a transfer commits both accounts or neither", async () => {
    const store = new MemoryEventStore();
    const bus = bankBus(store);
    await bus.dispatch(open("a"));
    await bus.dispatch(open("b"));
    await bus.dispatch(deposit("a", 50));
    const transfer = (amount: number): BankCommand => ({
      type: "Transfer",
      data: { transferId: `t-${amount}`, from: "a", to: "b", amount },
    });
    const refused = await bus.dispatch(transfer(80));
    assert.equal(refused.status, "rejected");
    assert.equal(await store.streamVersion(accountStream("b")), 1, "b untouched");
    const done = await bus.dispatch(transfer(30));
    assert.equal(done.status, "accepted");
    assert.equal(await balance(store, "a"), 20);
    assert.equal(await balance(store, "b"), 30);
    if (done.status === "accepted") {
      assert.deepEqual(done.streams.map((s) => s.streamId), ["account-a", "account-b"]);
    }
  });

  await t.step(
    "a transfer on stale caches catches up on the stream that moved, only it",
    async () => {
      const memory = new MemoryEventStore();
      const store = new SpyStore(memory);
      const bus = bankBus(store);
      await bus.dispatch(open("a"));
      await bus.dispatch(open("b"));
      await bus.dispatch(deposit("a", 50));
      const transfer = (id: string, amount: number): BankCommand => ({
        type: "Transfer",
        data: { transferId: id, from: "a", to: "b", amount },
      });
      const behind = (accountId: string) =>
        memory.appendToStream(accountStream(accountId), [
          { type: "MoneyDeposited", data: { accountId, amount: 100 } },
        ]);

      // A refusal on a's stale balance (50) is rechecked: a holds 150.
      await behind("a");
      store.calls.readStream.length = 0;
      const rechecked = await bus.dispatch(transfer("t-1", 120));
      assert.equal(rechecked.status, "accepted");
      assert.deepEqual(store.calls.readStream, [["account-a", { from: 3 }]]);

      // A decision on b's stale state meets a conflict on b alone.
      await behind("b");
      store.calls.readStream.length = 0;
      const retried = await bus.dispatch(transfer("t-2", 10));
      assert.equal(retried.status, "accepted");
      assert.deepEqual(store.calls.readStream, [["account-b", { from: 3 }]]);
      assert.equal(await balance(store, "a"), 20);
      assert.equal(await balance(store, "b"), 230);
    },
  );

  await t.step("an empty decision on a stale cache is rechecked too", async () => {
    const memory = new MemoryEventStore();
    const store = new SpyStore(memory);
    type Close = { type: "Close"; data: null };
    const bus = new CommandBus<Close>();
    // Closing an already closed door decides nothing.
    bus.register(
      "Close",
      deciderHandler({
        decider: {
          initialState: () => "open",
          decide: (_, state: string) =>
            state === "closed" ? [] : [{ type: "Closed", data: null }],
          evolve: (_, event: { type: string }) =>
            event.type === "Closed" ? "closed" : "open",
        },
        store,
        streamId: () => "door",
      }),
    );
    assert.equal((await bus.dispatch({ type: "Close", data: null })).status, "accepted");
    await memory.appendToStream("door", [{ type: "Opened", data: null }]);
    const result = await bus.dispatch({ type: "Close", data: null });
    assert.equal(result.status, "accepted");
    if (result.status === "accepted") {
      assert.deepEqual(result.events.map((e) => [e.type, e.version]), [["Closed", 3]]);
    }
    assert.equal(store.calls.streamVersion, 1, "one check of the cached version");
  });

  await t.step("events carry correlation, causation, user and tenant", async () => {
    const store = new MemoryEventStore();
    const bus = bankBus(store);
    const result = await bus.dispatch(open("a"), {
      correlationId: "corr-1",
      principal: "ada",
      tenantId: "t-1",
    });
    const [event] = await store.readStream(accountStream("a"));
    assert.deepEqual(event.metadata, {
      correlationId: "corr-1",
      causationId: result.commandId,
      userId: "ada",
      tenantId: "t-1",
    });
  });

  await t.step("a command past its deadline fails before writing anything", async () => {
    const clock = new ManualClock();
    const store = new MemoryEventStore();
    const bus = bankBus(store, { clock });
    const result = await bus.dispatch(open("a"), { deadline: clock.now() - 1 });
    assert.equal(result.status, "failed");
    if (result.status === "failed") {
      assert.ok(result.error instanceof CommandTimeoutError);
    }
    assert.equal(await store.streamVersion(accountStream("a")), 0);
  });

  await t.step("a command that decides nothing is accepted with no events", async () => {
    const store = new MemoryEventStore();
    const bus = new CommandBus<{ type: "Noop"; data: null }>();
    bus.register(
      "Noop",
      deciderHandler({
        decider: { initialState: () => 0, decide: () => [], evolve: (s) => s },
        store,
        streamId: () => "noop",
      }),
    );
    const result = await bus.dispatch({ type: "Noop", data: null });
    assert.equal(result.status, "accepted");
    if (result.status === "accepted") assert.deepEqual(result.events, []);
  });

  await t.step("a streamId() that gives no stream id fails clearly", async () => {
    for (
      const [given, message] of [
        [
          ["a", "b"],
          /streamId\(\) must give a stream id or \{ streamId, require \}, got an array/,
        ],
        [{ streamId: "a", require: "maybe" }, /require must be "exists" or "absent"/],
        ["", /stream id/],
      ] as const
    ) {
      const bus = new CommandBus<{ type: "X"; data: null }>();
      bus.register(
        "X",
        deciderHandler({
          decider: { initialState: () => 0, decide: () => [], evolve: (s) => s },
          store: new MemoryEventStore(),
          streamId: () => given as never,
        }),
      );
      const result = await bus.dispatch({ type: "X", data: null });
      assert.equal(result.status, "failed");
      if (result.status === "failed") assert.match(result.error.message, message);
    }
  });
});

Deno.test("deciderHandler: a decide() that returns no array fails the command, saying what it must return", async () => {
  type Ping = { type: "Ping"; data: null };
  const count = { initialState: () => 0, evolve: (n: number) => n };
  const cases: [unknown, "one" | "named", RegExp][] = [
    [{ type: "Ponged", data: {} }, "one", /decide\(\) must return an array of events/],
    [null, "one", /decide\(\) must return an array of events .* got null/],
    [undefined, "one", /got undefined/],
    [[], "named", /must return an object of events by name, got an array/],
    [null, "named", /must return an object of events by name, got null/],
    [{ a: null }, "named", /decide\(\)'s "a" must return an array of events/],
    [{ a: { type: "Ponged" } }, "named", /"a" must return an array .* got an object/],
    [{ c: [] }, "named", /returned events for "c", which is not one of its streams/],
  ];
  for (const [returned, kind, message] of cases) {
    const store = new MemoryEventStore();
    const decide = () => returned as never;
    const bus = new CommandBus<Ping>().register(
      "Ping",
      kind === "one"
        ? deciderHandler({ decider: { ...count, decide }, store, streamId: () => "a" })
        : deciderHandler({
          decider: {
            states: { a: count, b: count },
            decide,
          } satisfies MultiStreamDecider<Ping, { a: number; b: number }, Event>,
          store,
          streams: () => ({ a: "a", b: "b" }),
        }),
    );
    const result = await bus.dispatch({ type: "Ping", data: null });
    assert.equal(result.status, "failed", `${kind}: ${JSON.stringify(returned)}`);
    assert.ok(result.status === "failed" && result.error instanceof TypeError);
    assert.match(result.error.message, message);
    assert.deepEqual(await store.readAll(), []);
  }
});
