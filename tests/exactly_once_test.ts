// A command happens once: the same command id (or idempotency key) answers
// with the first outcome, from a fresh bus (a restart) too; event ids are
// derived from the command id, so a resent append is recognised.
import assert from "node:assert/strict";
import {
  audit,
  CommandBus,
  commandIdOf,
  CommandTimeoutError,
  deciderHandler,
  eventIdOf,
  type EventStore,
  timeout,
  uuidv7,
} from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import {
  accountDefinition,
  accountStream,
  type BankCommand,
  transferDefinition,
} from "../examples/bank.ts";
import { SpyStore } from "./support/spy_store.ts";

/** A bus as a new process would build it, over the same store and log. */
function bankBus(store: EventStore, log: MemoryCommandLog) {
  const handler = deciderHandler({ ...accountDefinition, store, cache: false });
  return new CommandBus<BankCommand>({
    onError: (error) => assert.fail(String(error)),
  })
    .use(audit(log))
    .register("OpenAccount", handler)
    .register("Deposit", handler)
    .register("Withdraw", handler)
    .register("Transfer", deciderHandler({ ...transferDefinition, store, cache: false }));
}

Deno.test("eventIdOf and commandIdOf", async (t) => {
  await t.step(
    "event ids are UUIDv7s, the same per (command, index), in index order",
    () => {
      const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
      for (const commandId of [uuidv7(), "order-42/pay", "ünïcödé 🙂"]) {
        const ids = [0, 1, 2, 4095, 4096, 65_535].map((i) => eventIdOf(commandId, i));
        for (const id of ids) assert.match(id, v7);
        assert.deepEqual(ids, [...ids].sort(), "sorted by index");
        assert.equal(new Set(ids).size, ids.length, "distinct");
        assert.deepEqual(
          ids,
          [0, 1, 2, 4095, 4096, 65_535].map((i) => eventIdOf(commandId, i)),
        );
      }
      const command = uuidv7();
      assert.equal(
        eventIdOf(command, 0).slice(0, 13),
        command.slice(0, 13),
        "the command's time",
      );
      assert.throws(() => eventIdOf(command, -1), RangeError);
      assert.throws(() => eventIdOf(command, 65_536), RangeError);
    },
  );

  await t.step("ids of different commands do not collide (200,000 commands)", () => {
    const seen = new Set<string>();
    for (let c = 0; c < 100_000; c++) {
      for (const commandId of [uuidv7(), `key-${c}`]) {
        for (let i = 0; i < 2; i++) seen.add(eventIdOf(commandId, i));
      }
    }
    assert.equal(seen.size, 400_000);
  });

  await t.step("an idempotency key is one command id", () => {
    assert.equal(commandIdOf("k"), commandIdOf("k"));
    assert.notEqual(commandIdOf("k"), commandIdOf("k2"));
  });
});

Deno.test("a command happens once", async (t) => {
  await t.step(
    "a retry of an accepted withdrawal answers as accepted, though the balance no longer covers it, from a new bus",
    async () => {
      const log = new MemoryCommandLog();
      const store = new MemoryEventStore({ commandLog: log });
      const first = bankBus(store, log);
      await first.dispatch({
        type: "OpenAccount",
        data: { accountId: "a", owner: "Ada" },
      });
      await first.dispatch({ type: "Deposit", data: { accountId: "a", amount: 100 } });
      const commandId = uuidv7();
      const withdraw: BankCommand = {
        type: "Withdraw",
        data: { accountId: "a", amount: 80 },
      };
      const original = await first.dispatch(withdraw, { commandId });
      assert.equal(original.status, "accepted");

      // A restart: a new bus, the same store and log; the balance is 20 now.
      const restarted = bankBus(store, log);
      const again = await restarted.dispatch(withdraw, { commandId });
      assert.deepEqual(again, original, "the original result, events and versions");
      assert.equal(
        await store.streamVersion(accountStream("a")),
        3,
        "nothing written twice",
      );
      assert.equal((await log.list()).records.length, 3, "one record per command");
    },
  );

  await t.step(
    "a retry of a rejected command answers with the recorded refusal, though it would pass now",
    async () => {
      const log = new MemoryCommandLog();
      const store = new MemoryEventStore({ commandLog: log });
      const bus = bankBus(store, log);
      await bus.dispatch({ type: "OpenAccount", data: { accountId: "a", owner: "Ada" } });
      const commandId = uuidv7();
      const withdraw: BankCommand = {
        type: "Withdraw",
        data: { accountId: "a", amount: 50 },
      };
      const refused = await bus.dispatch(withdraw, { commandId });
      assert.equal(refused.status, "rejected");
      await bus.dispatch({ type: "Deposit", data: { accountId: "a", amount: 100 } });
      const again = await bus.dispatch(withdraw, { commandId });
      assert.equal(again.status, "rejected");
      assert.equal(
        again.status === "rejected" && again.reason.code,
        "insufficient_funds",
      );
      assert.equal(await store.streamVersion(accountStream("a")), 2);
    },
  );

  await t.step(
    "an idempotency key dispatched twice deposits once, across buses",
    async () => {
      const log = new MemoryCommandLog();
      const store = new MemoryEventStore({ commandLog: log });
      await bankBus(store, log).dispatch({
        type: "OpenAccount",
        data: { accountId: "a", owner: "Ada" },
      });
      const deposit: BankCommand = {
        type: "Deposit",
        data: { accountId: "a", amount: 5 },
      };
      const first = await bankBus(store, log).dispatch(deposit, {
        idempotencyKey: "pay-1",
      });
      const second = await bankBus(store, log).dispatch(deposit, {
        idempotencyKey: "pay-1",
      });
      assert.equal(first.commandId, commandIdOf("pay-1"));
      assert.deepEqual(second, first);
      assert.equal(await store.streamVersion(accountStream("a")), 2);
    },
  );

  await t.step(
    "an append that committed but answered with an error is resolved in the same dispatch",
    async () => {
      const log = new MemoryCommandLog();
      const inner = new MemoryEventStore({ commandLog: log });
      const store = new SpyStore(inner);
      const bus = bankBus(store, log);
      await bus.dispatch({ type: "OpenAccount", data: { accountId: "a", owner: "Ada" } });
      let lost = 1;
      store.afterAppend = () => {
        if (lost-- > 0) throw new TypeError("connection reset by peer");
      };
      const result = await bus.dispatch({
        type: "Deposit",
        data: { accountId: "a", amount: 5 },
      });
      assert.equal(result.status, "accepted");
      assert.equal(await inner.streamVersion(accountStream("a")), 2, "deposited once");
      assert.equal((await log.get(result.commandId))?.status, "accepted");
    },
  );

  await t.step(
    "a failed attempt (nothing written) is retried under its id and its record replaced",
    async () => {
      const log = new MemoryCommandLog();
      const inner = new MemoryEventStore({ commandLog: log });
      const store = new SpyStore(inner);
      const bus = bankBus(store, log);
      await bus.dispatch({ type: "OpenAccount", data: { accountId: "a", owner: "Ada" } });
      store.beforeAppend = () => {
        throw new TypeError("connection refused");
      };
      const commandId = uuidv7();
      const deposit: BankCommand = {
        type: "Deposit",
        data: { accountId: "a", amount: 5 },
      };
      assert.equal((await bus.dispatch(deposit, { commandId })).status, "failed");
      assert.equal((await log.get(commandId))?.status, "failed");
      store.beforeAppend = undefined;
      assert.equal((await bus.dispatch(deposit, { commandId })).status, "accepted");
      assert.equal((await log.get(commandId))?.status, "accepted");
      assert.equal(await inner.streamVersion(accountStream("a")), 2);
    },
  );

  await t.step(
    "timeout() settles a dispatch whose store never answers; the same id later tells what happened",
    async () => {
      const log = new MemoryCommandLog();
      const inner = new MemoryEventStore({ commandLog: log });
      const store = new SpyStore(inner);
      const bus = bankBus(store, log).use(timeout(30));
      await bus.dispatch({ type: "OpenAccount", data: { accountId: "a", owner: "Ada" } });
      let release!: () => void;
      const held = new Promise<void>((resolve) => release = resolve);
      // The append commits, then its answer is held back past the deadline.
      store.afterAppend = () => held;
      const commandId = uuidv7();
      const deposit: BankCommand = {
        type: "Deposit",
        data: { accountId: "a", amount: 5 },
      };
      const late = await bus.dispatch(deposit, { commandId });
      assert.equal(late.status, "failed");
      assert.ok(late.status === "failed" && late.error instanceof CommandTimeoutError);
      release();
      store.afterAppend = undefined;
      const again = await bus.dispatch(deposit, { commandId });
      assert.equal(again.status, "accepted", "it had landed");
      assert.equal(await inner.streamVersion(accountStream("a")), 2, "once");
      assert.equal(
        (await log.get(commandId))?.status,
        "accepted",
        "never recorded as failed",
      );
    },
  );
});
