import assert from "node:assert/strict";
import { type Command, CommandBus, validate, ValidationError } from "@verdict/verdict";
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
