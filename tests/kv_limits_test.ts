// Deno KV's limits are part of the store's contract: at the limit an append
// lands; one byte, mutation or check over, it fails with a KvLimitError that
// names the limit and the excess, and nothing is written.
import assert from "node:assert/strict";
import { uuidv7 } from "@verdict/verdict";
import {
  KV_LIMITS,
  KvCommandLog,
  KvEventStore,
  KvLimitError,
  valueSize,
} from "@verdict/verdict/kv";
import { sampleCommandRecord } from "@verdict/verdict/testing";
import { withTempKv } from "./support/temp_kv.ts";

async function refused(
  attempt: Promise<unknown>,
  limit: KvLimitError["limit"],
): Promise<KvLimitError> {
  const error = await attempt.then(() => undefined, (e) => e);
  assert.ok(error instanceof KvLimitError, `expected a KvLimitError, got ${error}`);
  assert.equal(error.limit, limit);
  assert.ok(error.excess > 0);
  assert.match(error.message, new RegExp(`by ${error.excess}; nothing was written`));
  return error;
}

/** An event whose stored value is exactly `bytes` long, as KV measures it. */
function eventOfSize(bytes: number) {
  const stored = (text: string) => ({
    id: uuidv7(),
    type: "Sized",
    data: { text },
    metadata: {},
    timestamp: Date.UTC(2026, 0, 1),
    i: 0,
  });
  let length = bytes - valueSize(stored(""));
  // The string's length prefix grows with the string: settle on the exact size.
  while (valueSize(stored("x".repeat(length))) > bytes) length--;
  assert.equal(valueSize(stored("x".repeat(length))), bytes);
  return { type: "Sized", data: { text: "x".repeat(length) } };
}

Deno.test("Deno KV limits", async (t) => {
  await withTempKv(async (open) => {
    const kv = await open();
    const store = new KvEventStore(kv, { prefix: ["limits"] });

    await t.step("an event value at 64 KiB lands; one byte more is refused", async () => {
      await store.appendToStream("value-at", [
        eventOfSize(KV_LIMITS.valueBytes),
      ]);
      assert.equal(await store.streamVersion("value-at"), 1);
      const error = await refused(
        store.appendToStream("value-over", [
          eventOfSize(KV_LIMITS.valueBytes + 1),
        ]),
        "value size",
      );
      assert.equal(error.excess, 1);
      assert.equal(await store.streamVersion("value-over"), 0);
    });

    await t.step("a key at 2 KiB lands; one byte more is refused", async () => {
      // The longest key is the id index: [prefix, "id", eventId].
      const base = ["limits", "id"].reduce((n, part) => n + part.length + 2, 0);
      const atLimit = "i".repeat(KV_LIMITS.keyBytes - base - 2);
      await store.appendToStream("key-at", [{ id: atLimit, type: "A", data: {} }]);
      assert.equal(await store.streamVersion("key-at"), 1);
      const error = await refused(
        store.appendToStream("key-over", [{ id: atLimit + "i", type: "A", data: {} }]),
        "key size",
      );
      assert.equal(error.excess, 1);
      assert.equal(await store.streamVersion("key-over"), 0);
    });

    await t.step("1,000 mutations land; 1,002 are refused", async () => {
      // Each event is 2 mutations (event, id index); each stream 1 (head);
      // each append 2 more (global entry, notification): 2 × 498 + 2 + 2.
      const batch = (n: number, tag: string) =>
        Array.from({ length: n }, (_, i) => ({ type: "Bulk", data: { tag, i } }));
      await store.appendToStreams([
        { streamId: "bulk-a", events: batch(249, "at") },
        { streamId: "bulk-b", events: batch(249, "at") },
      ]);
      assert.equal(await store.streamVersion("bulk-a"), 249);
      const error = await refused(
        store.appendToStreams([
          { streamId: "bulk-c", events: batch(250, "over") },
          { streamId: "bulk-d", events: batch(249, "over") },
        ]),
        "mutations",
      );
      assert.equal(error.actual, 1_002);
      assert.equal(await store.streamVersion("bulk-c"), 0);
    });

    await t.step("800 KiB in one append lands; more is refused", async () => {
      // 13 events of 60,000 bytes: under 800 KiB with their keys; 14 is over.
      const events = (n: number) => Array.from({ length: n }, () => eventOfSize(60_000));
      await store.appendToStream("size-at", events(13));
      assert.equal(await store.streamVersion("size-at"), 13);
      const error = await refused(
        store.appendToStream("size-over", events(14)),
        "total size",
      );
      assert.ok(error.actual > KV_LIMITS.totalBytes);
      assert.equal(await store.streamVersion("size-over"), 0);
    });

    await t.step("10 checks land; 11 are refused", async () => {
      const streams = (n: number, tag: string) =>
        Array.from({ length: n }, (_, i) => ({
          streamId: `checks-${tag}-${i}`,
          events: [{ type: "A", data: {} }],
        }));
      await store.appendToStreams(streams(10, "at"));
      assert.equal(await store.streamVersion("checks-at-9"), 1);
      const error = await refused(store.appendToStreams(streams(11, "over")), "checks");
      assert.equal(error.actual, 11);
      assert.equal(await store.streamVersion("checks-over-0"), 0);
    });

    await t.step("a command record too large for one KV value is refused", async () => {
      const log = new KvCommandLog(kv, { prefix: ["limits"] });
      const record = sampleCommandRecord({ payload: "x".repeat(KV_LIMITS.valueBytes) });
      await refused(log.record(record), "value size");
      assert.equal(await log.get(record.id), undefined);
    });

    await store.close();
    kv.close();
  });
});
