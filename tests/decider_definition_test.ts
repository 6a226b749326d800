import assert from "node:assert/strict";
import {
  type Command,
  CommandBus,
  CommandRejectedError,
  type CommandResult,
  type Decider,
  deciderHandler,
  type MultiStreamDecider,
  type StateFold,
} from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { SpyStore } from "./support/spy_store.ts";

type ListCommand =
  | Command<"CreateList", { listId: string }>
  | Command<"AddItem", { listId: string; item: string }>;
type ListEvent =
  | { type: "ListCreated"; data: { listId: string } }
  | { type: "ItemAdded"; data: { item: string } };

/** A list's rules say nothing of existence: the handler's requirement does. */
const list: Decider<ListCommand, string[], ListEvent> = {
  initialState: () => [],
  decide: (command) =>
    command.type === "CreateList"
      ? [{ type: "ListCreated", data: command.data }]
      : [{ type: "ItemAdded", data: { item: command.data.item } }],
  evolve: (items, event) =>
    event.type === "ItemAdded" ? [...items, event.data.item] : items,
};

function listBus(store: MemoryEventStore | SpyStore) {
  const handler = deciderHandler({
    decider: list,
    store,
    retry: { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0 },
    streamId: (command) => ({
      streamId: `list-${command.data.listId}`,
      require: command.type === "CreateList" ? "absent" : "exists",
    }),
  });
  return new CommandBus<ListCommand>()
    .register("CreateList", handler)
    .register("AddItem", handler);
}

const codeOf = (result: CommandResult) =>
  result.status === "rejected" ? result.reason.code : result.status;
const refusal = (result: CommandResult) =>
  result.status === "rejected"
    ? { code: result.reason.code, details: result.reason.details }
    : result.status;

Deno.test("a stream requirement", async (t) => {
  await t.step(
    "adding to a list that does not exist is rejected, and creates no stream",
    async () => {
      const store = new MemoryEventStore();
      const result = await listBus(store).dispatch({
        type: "AddItem",
        data: { listId: "missing", item: "milk" },
      });
      assert.deepEqual(refusal(result), {
        code: "stream_not_found",
        details: { stream: "list-missing", streamId: "list-missing" },
      });
      assert.equal(await store.streamVersion("list-missing"), 0);
      assert.deepEqual(await store.readAll(), []);
    },
  );

  await t.step("creating a list twice is rejected the second time", async () => {
    const store = new MemoryEventStore();
    const bus = listBus(store);
    const create = { type: "CreateList" as const, data: { listId: "a" } };
    assert.equal((await bus.dispatch(create)).status, "accepted");
    assert.deepEqual(refusal(await bus.dispatch(create)), {
      code: "stream_exists",
      details: { stream: "list-a", streamId: "list-a", version: 1 },
    });
    assert.equal(await store.streamVersion("list-a"), 1);
  });

  await t.step(
    "of 8 racing creators exactly one is accepted: the others meet its stream on retry",
    async () => {
      const store = new MemoryEventStore();
      const buses = Array.from({ length: 8 }, () => listBus(store));
      const results = await Promise.all(
        buses.map((bus) => bus.dispatch({ type: "CreateList", data: { listId: "r" } })),
      );
      assert.deepEqual(
        results.map(codeOf)
          .sort(),
        ["accepted", ...Array(7).fill("stream_exists")].sort(),
      );
      assert.equal(await store.streamVersion("list-r"), 1);
    },
  );

  await t.step(
    "a requirement judged on a stale cache is checked again: a list created behind the cache takes the item",
    async () => {
      const store = new MemoryEventStore();
      const bus = listBus(store);
      const add = { type: "AddItem" as const, data: { listId: "late", item: "tea" } };
      assert.equal(codeOf(await bus.dispatch(add)), "stream_not_found");
      // Another process creates the list; this bus's cache still says version 0.
      await store.appendToStream("list-late", [{
        type: "ListCreated",
        data: { listId: "late" },
      }]);
      assert.equal((await bus.dispatch(add)).status, "accepted");
      assert.equal(await store.streamVersion("list-late"), 2);
    },
  );
});

type Transfer = Command<"Transfer", { from: string; to: string; amount: number }>;
type Moved =
  | { type: "Opened" | "Sent" | "Received"; data: { amount: number } }
  | { type: "Frozen"; data: null };
interface Account {
  readonly open: boolean;
  readonly frozen: boolean;
  readonly balance: number;
}
const account: StateFold<Account, Moved> = {
  initialState: () => ({ open: false, frozen: false, balance: 0 }),
  evolve: (state, event) => {
    switch (event.type) {
      case "Opened":
        return { ...state, open: true };
      case "Frozen":
        return { ...state, frozen: true };
      case "Sent":
        return { ...state, balance: state.balance - event.data.amount };
      case "Received":
        return { ...state, balance: state.balance + event.data.amount };
    }
  },
};
const transfer: MultiStreamDecider<Transfer, { from: Account; to: Account }, Moved> = {
  states: { from: account, to: account },
  decide(command, { from, to }) {
    const { amount } = command.data;
    if (to.frozen) throw new CommandRejectedError("the receiver is frozen");
    if (from.balance < amount) {
      throw new CommandRejectedError("insufficient funds", {
        code: "insufficient_funds",
      });
    }
    return {
      from: [{ type: "Sent", data: { amount } }],
      to: [{ type: "Received", data: { amount } }],
    };
  },
};

function transferBus(store: MemoryEventStore | SpyStore) {
  return new CommandBus<Transfer>().register(
    "Transfer",
    deciderHandler({
      decider: transfer,
      store,
      retry: { maxAttempts: 5, baseDelayMs: 0, maxDelayMs: 0 },
      streams: (command) => ({
        from: { streamId: `account-${command.data.from}`, require: "exists" },
        to: { streamId: `account-${command.data.to}`, require: "exists" },
      }),
    }),
  );
}

const move = (from: string, to: string, amount: number): Transfer => ({
  type: "Transfer",
  data: { from, to, amount },
});

async function openAccounts(store: MemoryEventStore, funded = 0) {
  await store.appendToStream("account-a", [
    { type: "Opened", data: { amount: 0 } },
    ...(funded ? [{ type: "Received" as const, data: { amount: funded } }] : []),
  ]);
  await store.appendToStream("account-b", [{ type: "Opened", data: { amount: 0 } }]);
}

Deno.test("a multi-stream decider", async (t) => {
  await t.step(
    "sees each stream's state by name: an empty account sends nothing, money is not created",
    async () => {
      const store = new MemoryEventStore();
      await openAccounts(store);
      const result = await transferBus(store).dispatch(move("a", "b", 1000));
      assert.equal(codeOf(result), "insufficient_funds");
      assert.equal(await store.streamVersion("account-b"), 1);
    },
  );

  await t.step("appends each name's events to its stream, in one append", async () => {
    const store = new MemoryEventStore();
    await openAccounts(store, 50);
    const result = await transferBus(store).dispatch(move("a", "b", 30));
    assert.equal(result.status, "accepted");
    if (result.status !== "accepted") return;
    assert.deepEqual(
      result.events.map((e) => [e.streamId, e.type, e.version]),
      [["account-a", "Sent", 3], ["account-b", "Received", 2]],
    );
    assert.deepEqual(result.streams, [
      { streamId: "account-a", version: 3 },
      { streamId: "account-b", version: 2 },
    ]);
  });

  await t.step("a missing receiver is a rejection naming it", async () => {
    const store = new MemoryEventStore();
    await openAccounts(store, 50);
    const result = await transferBus(store).dispatch(move("a", "nobody", 1));
    assert.deepEqual(refusal(result), {
      code: "stream_not_found",
      details: { stream: "to", streamId: "account-nobody" },
    });
    assert.equal(await store.streamVersion("account-a"), 2);
    assert.equal(await store.streamVersion("account-nobody"), 0);
  });

  await t.step("two names on one stream are refused, nothing read", async () => {
    const store = new SpyStore(new MemoryEventStore());
    const result = await transferBus(store).dispatch(move("a", "a", 1));
    assert.deepEqual(refusal(result), {
      code: "same_stream",
      details: { streamId: "account-a", names: ["from", "to"] },
    });
    assert.deepEqual(store.calls.readStream, []);
  });

  await t.step(
    "a stream that moved between the read and the append is decided again, even one given no events",
    async () => {
      // Receipts need not name the receiver's events: a decider that writes
      // only to `from` still decides on `to`, and `to` must not move under it.
      const debitOnly: MultiStreamDecider<
        Transfer,
        { from: Account; to: Account },
        Moved
      > = {
        states: transfer.states,
        decide(command, states) {
          return { from: transfer.decide(command, states).from };
        },
      };
      const memory = new MemoryEventStore();
      await openAccounts(memory, 50);
      const store = new SpyStore(memory);
      let frozen = false;
      store.beforeAppend = async () => {
        if (frozen) return;
        frozen = true;
        await memory.appendToStream("account-b", [{ type: "Frozen", data: null }]);
      };
      const bus = new CommandBus<Transfer>().register(
        "Transfer",
        deciderHandler({
          decider: debitOnly,
          store,
          streams: (command) => ({
            from: `account-${command.data.from}`,
            to: `account-${command.data.to}`,
          }),
        }),
      );
      const result = await bus.dispatch(move("a", "b", 10));
      assert.equal(result.status, "rejected");
      assert.match(result.status === "rejected" ? result.reason.message : "", /frozen/);
      assert.equal(await memory.streamVersion("account-a"), 2, "a not debited");
    },
  );

  await t.step(
    "a definition that names streams the decider does not know fails clearly",
    async () => {
      const bus = new CommandBus<Transfer>().register(
        "Transfer",
        deciderHandler({
          decider: transfer,
          store: new MemoryEventStore(),
          streams: () => ({ from: "account-a" }) as never,
        }),
      );
      const result = await bus.dispatch(move("a", "b", 1));
      assert.equal(result.status, "failed");
      assert.match(
        result.status === "failed" ? result.error.message : "",
        /streams\(\) named no stream for "to"/,
      );
    },
  );
});
