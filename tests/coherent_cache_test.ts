import assert from "node:assert/strict";
import { CommandBus, deciderHandler, fold, StateCache } from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import {
  type Account,
  accountDecider,
  accountDefinition,
  accountStream,
  type BankCommand,
  type BankEvent,
  transferDefinition,
} from "../examples/bank.ts";
import { checkCoherentCache } from "./support/coherent_cache.ts";
import { SpyStore } from "./support/spy_store.ts";

Deno.test("coherentCache on the memory store: two handlers on one store", async (t) => {
  const store = new MemoryEventStore();
  // Both instances share the store; it closes once, at the end.
  await checkCoherentCache(t, () => store, () => Promise.resolve());
  await store.close();
});

Deno.test("coherentCache is refused without a cache, or on a store that cannot wake", () => {
  assert.throws(
    () =>
      deciderHandler({
        ...accountDefinition,
        store: new MemoryEventStore(),
        cache: false,
        coherentCache: true,
      }),
    /coherentCache .* cannot go with cache: false/,
  );
  // A store of one's own without waitForEvents.
  const withoutWakeUps = new SpyStore(new MemoryEventStore());
  assert.throws(
    () =>
      deciderHandler({
        ...transferDefinition,
        store: withoutWakeUps,
        coherentCache: true,
      }),
    /coherentCache needs a store that can wake followers/,
  );
});

Deno.test("coherentCache with several streams per command, on a cache shared by handlers", async (t) => {
  for (const coherent of [false, true]) {
    await t.step(coherent ? "coherent: no conflict" : "plain: a conflict", async () => {
      const store = new MemoryEventStore();
      // Instance A: account and transfer handlers on one cache.
      const cache = new StateCache<Account>();
      let conflicts = 0;
      const settings = {
        store,
        cache,
        coherentCache: coherent,
        onConflict: () => conflicts++,
        retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 2 },
      };
      const a = new CommandBus<BankCommand>()
        .register("OpenAccount", deciderHandler({ ...accountDefinition, ...settings }))
        .register("Deposit", deciderHandler({ ...accountDefinition, ...settings }))
        .register("Transfer", deciderHandler({ ...transferDefinition, ...settings }));
      // Instance B, with its own cache.
      const b = new CommandBus<BankCommand>()
        .register("Deposit", deciderHandler({ ...accountDefinition, store }));
      const status = async (bus: CommandBus<BankCommand>, command: BankCommand) =>
        (await bus.dispatch(command)).status;
      for (const accountId of ["x", "y"]) {
        assert.equal(
          await status(a, { type: "OpenAccount", data: { accountId, owner: "o" } }),
          "accepted",
        );
      }
      assert.equal(
        await status(a, { type: "Deposit", data: { accountId: "x", amount: 100 } }),
        "accepted",
      );
      for (const accountId of ["x", "y"]) {
        assert.equal(
          await status(b, { type: "Deposit", data: { accountId, amount: 5 } }),
          "accepted",
        );
      }
      // The memory store wakes followers at once: one turn of the event loop
      // lets A's followers read B's deposits.
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.equal(
        await status(a, {
          type: "Transfer",
          data: { transferId: "t-1", from: "x", to: "y", amount: 10 },
        }),
        "accepted",
      );
      // Without it, one conflict per stale stream (x, then y).
      assert.equal(conflicts, coherent ? 0 : 2);
      const balance = async (id: string) =>
        fold(accountDecider, await store.readStream<BankEvent>(accountStream(id)))
          .balance;
      assert.deepEqual([await balance("x"), await balance("y")], [95, 15]);
      await store.close();
    });
  }
});

Deno.test("coherentCache: a stream the follower cannot bring up to date itself is read again before a decision", async () => {
  // A multi-stream handler given one cache for all its folds cannot tell
  // which fold an event belongs to: it marks the stream, and reads it again.
  const store = new MemoryEventStore();
  let conflicts = 0;
  const a = new CommandBus<BankCommand>().register(
    "Transfer",
    deciderHandler({
      ...transferDefinition,
      store,
      cache: new StateCache<Account>(),
      coherentCache: true,
      onConflict: () => conflicts++,
    }),
  );
  const b = new CommandBus<BankCommand>()
    .register("OpenAccount", deciderHandler({ ...accountDefinition, store }))
    .register("Deposit", deciderHandler({ ...accountDefinition, store }));
  for (const accountId of ["x", "y"]) {
    await b.dispatch({ type: "OpenAccount", data: { accountId, owner: "o" } });
  }
  await b.dispatch({ type: "Deposit", data: { accountId: "x", amount: 100 } });
  const transfer = async (n: number) =>
    (await a.dispatch({
      type: "Transfer",
      data: { transferId: `t-${n}`, from: "x", to: "y", amount: 10 },
    })).status;
  assert.equal(await transfer(1), "accepted"); // A's follower starts here
  await b.dispatch({ type: "Deposit", data: { accountId: "x", amount: 1 } });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(await transfer(2), "accepted");
  assert.equal(conflicts, 0);
  assert.equal(
    fold(accountDecider, await store.readStream<BankEvent>(accountStream("x"))).balance,
    81,
  );
  await store.close();
});
