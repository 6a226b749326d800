// The decider handler's state cache: states by stream at a version, bounded,
// evicting streams not rewritten recently first.
import assert from "node:assert/strict";
import { StateCache } from "@verdict/verdict";

Deno.test("StateCache evicts a stream not rewritten recently before one that was", () => {
  const cache = new StateCache<number>({ maxEntries: 2 });
  cache.set("a", 1, 1);
  cache.set("b", 2, 1);
  cache.set("a", 3, 2);
  cache.set("c", 4, 1);
  assert.equal(cache.get("b"), undefined, "b was not rewritten: evicted first");
  assert.equal(cache.get("a")?.state, 3);
  assert.equal(cache.get("a")?.version, 2);
  assert.equal(cache.get("c")?.state, 4);
  assert.equal(cache.size, 2);
  assert.throws(() => new StateCache({ maxEntries: 0 }), RangeError);
});

Deno.test("StateCache forgets a stream, or every stream", () => {
  const cache = new StateCache<string>();
  cache.set("a", "x", 1);
  cache.set("b", "y", 3);
  cache.delete("a");
  assert.equal(cache.get("a"), undefined);
  assert.deepEqual(
    { state: cache.get("b")?.state, version: cache.get("b")?.version },
    { state: "y", version: 3 },
  );
  cache.clear();
  assert.equal(cache.size, 0);
});

Deno.test("StateCache holds at most maxEntries streams under any write pattern", () => {
  const cache = new StateCache<number>({ maxEntries: 50 });
  for (let i = 0; i < 1_000; i++) cache.set(`s-${(i * 7919) % 300}`, i, i);
  assert.ok(cache.size <= 50, `size ${cache.size}`);
});
