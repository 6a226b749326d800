import assert from "node:assert/strict";
import { type EventStore, follow } from "@verdict/verdict";

/**
 * A burst of 50 appends through `writer`, whose wake-up signal to other
 * processes or tabs (NOTIFY, BroadcastChannel message) is held for longer
 * than the test: a follower on `writer` must see the whole burst with no
 * signal (woken at each commit), one on `elsewhere` only once `close()` sends
 * the held signal — two signals in all, the first and the last. Both follow
 * after `after` and poll only every 10 minutes.
 */
export async function checkThrottledWakeUps(options: {
  writer: EventStore;
  elsewhere: EventStore;
  after: number;
  /** How many signals `elsewhere`'s side has received so far. */
  signals: () => number;
  /** What a signal is called, for the messages. */
  signal: string;
}): Promise<void> {
  const { writer, elsewhere, after, signals, signal } = options;
  const followers = [writer, elsewhere].map(async (store) => {
    const stop = new AbortController();
    const seen: number[] = [];
    for await (
      const event of follow(store, {
        after,
        signal: stop.signal,
        pollIntervalMs: 600_000,
      })
    ) {
      seen.push((event.data as { i: number }).i);
      if (seen.length === 50) stop.abort();
    }
    return seen;
  });
  for (let i = 0; i < 50; i++) {
    await writer.appendToStream("burst", [{ type: "B", data: { i } }]);
  }
  const burst = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(
    await followers[0],
    burst,
    `the follower beside the writer sees the burst with no ${signal} to wake it`,
  );
  assert.ok(signals() <= 1, `one ${signal} at most before close()`);
  await writer.close();
  assert.deepEqual(
    await followers[1],
    burst,
    `the follower elsewhere sees the whole burst once close() sent the held ${signal}`,
  );
  // Delivery to the counting listener is asynchronous; give it up to 5 s.
  for (let i = 0; i < 500 && signals() < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(signals(), 2, `50 appends, 2 ${signal}s: the first and the last`);
}
