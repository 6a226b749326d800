import assert from "node:assert/strict";
import {
  type Command,
  CommandBus,
  CommandRejectedError,
  idempotency,
} from "@verdict/verdict";
import { ManualClock } from "@verdict/verdict/testing";

type Pay = Command<"Pay", { amount: number; note?: string }>;
const nothing = { events: [], streams: [] };

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
