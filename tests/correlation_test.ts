import assert from "node:assert/strict";
import { type Command, CommandBus, correlation } from "@verdict/verdict";

type Pay = Command<"Pay", { amount: number; note?: string }>;
const nothing = { events: [], streams: [] };

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
