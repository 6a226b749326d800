import assert from "node:assert/strict";
import { follow } from "@verdict/verdict";
import { ManualClock } from "@verdict/verdict/testing";
import { MemoryEventStore } from "@verdict/verdict/memory";

type Noted = { type: "Noted" | "Ignored"; data: { n: number } };

Deno.test("follow() ends when stopped on the last event it has, without waiting for a poll", async () => {
  const store = new MemoryEventStore();
  await store.appendToStream("s", [{ type: "A", data: {} }, { type: "B", data: {} }]);
  // A clock that never moves: a wait for the next poll would never end.
  const clock = new ManualClock();
  const stop = new AbortController();
  const seen: string[] = [];
  let ended = false;
  const following = (async () => {
    for await (
      const event of follow(store, { signal: stop.signal, clock, pollIntervalMs: 60_000 })
    ) {
      seen.push(event.type);
      if (seen.length === 2) stop.abort();
    }
    ended = true;
  })();
  for (let i = 0; i < 5 && !ended; i++) await new Promise((r) => setTimeout(r, 0));
  const endedBeforeAPoll = ended;
  await clock.advance(60_000); // lets a follower stuck in the poll end, either way
  await following;
  assert.deepEqual(seen, ["A", "B"]);
  assert.ok(endedBeforeAPoll, "the follower ended at once, not after the poll interval");
});
