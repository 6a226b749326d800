import assert from "node:assert/strict";
import {
  type CheckpointStore,
  type EventStore,
  follow,
  type RecordedEvent,
} from "@verdict/verdict";

/**
 * 8 writers append 1,000 events each while a follower reads from its
 * checkpoint; half way it stops, and a second follower resumes from the
 * saved checkpoint. Together they must see every event exactly once, in
 * strictly increasing position order, each stream in version order.
 */
export async function checkConcurrentOrder(
  store: EventStore,
  checkpoints: CheckpointStore,
  pollIntervalMs: number,
): Promise<void> {
  const total = 8 * 1_000;
  const seen: RecordedEvent[] = [];
  const followFrom = async (stopAt: number) => {
    const stop = new AbortController();
    for await (
      const event of follow(store, {
        after: await checkpoints.load("order-test"),
        signal: stop.signal,
        pollIntervalMs,
      })
    ) {
      seen.push(event);
      await checkpoints.save("order-test", event.position);
      if (seen.length === stopAt) stop.abort();
    }
  };
  const following = followFrom(total / 2).then(() => followFrom(total));
  await Promise.all(
    Array.from({ length: 8 }, async (_, writer) => {
      for (let i = 0; i < 1_000; i++) {
        await store.appendToStream(`writer-${writer}`, [{ type: "Wrote", data: { i } }]);
      }
    }),
  );
  await following;

  assert.equal(seen.length, total);
  assert.equal(new Set(seen.map((e) => e.id)).size, total, "no event twice");
  for (let i = 1; i < seen.length; i++) {
    assert.ok(seen[i].position > seen[i - 1].position, "strictly increasing positions");
  }
  for (let writer = 0; writer < 8; writer++) {
    assert.deepEqual(
      seen.filter((e) => e.streamId === `writer-${writer}`).map((e) => e.version),
      Array.from({ length: 1_000 }, (_, i) => i + 1),
    );
  }
}
