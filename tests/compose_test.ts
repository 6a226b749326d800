// deno-only: it imports the internal src/compose.ts, which the npm package does not
// ship; under Node the bus that uses it is tested by command_bus_test.ts.
import assert from "node:assert/strict";
import { compose, type Layer } from "../src/compose.ts";
import { NextCalledTwiceError } from "@verdict/verdict";

type Log = string[];
const innermost = (log: Log) => {
  log.push("handler");
  return Promise.resolve("done");
};
const recover = (_log: Log, error: unknown) => `recovered: ${(error as Error).message}`;
const describe = () => "Ping";

Deno.test("compose", async (t) => {
  await t.step("layers run as an onion: the first added is the outermost", async () => {
    const layers: Layer<Log, string>[] = ["a", "b"].map((name) => async (log, next) => {
      log.push(`${name} in`);
      const result = await next();
      log.push(`${name} out`);
      return result;
    });
    const log: Log = [];
    assert.equal(await compose(layers, innermost, recover, describe)(log), "done");
    assert.deepEqual(log, ["a in", "b in", "handler", "b out", "a out"]);
  });

  await t.step("a layer added after composing runs too", async () => {
    const layers: Layer<Log, string>[] = [];
    const run = compose(layers, innermost, recover, describe);
    layers.push((log, next) => {
      log.push("late");
      return next();
    });
    const log: Log = [];
    await run(log);
    assert.deepEqual(log, ["late", "handler"]);
  });

  await t.step("a layer that does not call next short-circuits the handler", async () => {
    const log: Log = [];
    const run = compose<Log, string>(
      [() => Promise.resolve("cached")],
      innermost,
      recover,
      describe,
    );
    assert.equal(await run(log), "cached");
    assert.deepEqual(log, []);
  });

  await t.step(
    "next() twice throws NextCalledTwiceError; the handler ran once",
    async () => {
      const log: Log = [];
      let second: unknown;
      const run = compose<Log, string>(
        [async (_log, next) => {
          await next();
          try {
            return await next();
          } catch (error) {
            second = error;
            throw error;
          }
        }],
        innermost,
        recover,
        describe,
      );
      const result = await run(log);
      assert.ok(second instanceof NextCalledTwiceError);
      assert.match((second as Error).message, /"Ping"/);
      assert.equal(result, `recovered: ${(second as Error).message}`);
      assert.deepEqual(log, ["handler"]);
    },
  );

  await t.step("a layer that throws or rejects is recovered, never thrown", async () => {
    const sync = compose<Log, string>(
      [() => {
        throw new Error("sync");
      }],
      innermost,
      recover,
      describe,
    );
    assert.equal(await sync([]), "recovered: sync");
    const async = compose<Log, string>(
      [() => Promise.reject(new Error("async"))],
      innermost,
      recover,
      describe,
    );
    assert.equal(await async([]), "recovered: async");
  });
});
