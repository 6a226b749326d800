import assert from "node:assert/strict";
import {
  type Command,
  CommandBus,
  CommandRejectedError,
  observe,
} from "@verdict/verdict";

type Pay = Command<"Pay", { amount: number; note?: string }>;
const nothing = { events: [], streams: [] };

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
