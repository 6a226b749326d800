// deno-only: Deno KV files, child processes and Deno's own KV handle (tests/kv_contract_test.ts runs the contracts in Node too).
// Deno KV's limits are part of the store's contract: at the limit an append
// lands; one byte, mutation or check over, it fails with a KvLimitError that
// names the limit and the excess, and nothing is written.
import assert from "node:assert/strict";
import { AppendConditionError, type EventQuery, uuidv7 } from "@verdict/verdict";
import { ALTERED_PARTS_KEY } from "@verdict/verdict/store-kit";
import {
  keySize,
  KV_LIMITS,
  KvCommandLog,
  KvEventStore,
  KvLimitError,
  sizeWithin,
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
      // The longest key is the id index: [prefix, "id", eventId]. Ids stop
      // at MAX_ID_BYTES on every store, so a long prefix takes the rest.
      const id = "i".repeat(1000);
      const fill = KV_LIMITS.keyBytes - (2 + id.length) - ["limits", "id"].reduce(
        (n, part) => n + part.length + 2,
        0,
      ) - 2;
      const at = new KvEventStore(kv, { prefix: ["limits", "p".repeat(fill)] });
      await at.appendToStream("key-at", [{ id, type: "A", data: {} }]);
      assert.equal(await at.streamVersion("key-at"), 1);
      const over = new KvEventStore(kv, { prefix: ["limits", "p".repeat(fill + 1)] });
      const error = await refused(
        over.appendToStream("key-over", [{ id: "j".repeat(1000), type: "A", data: {} }]),
        "key size",
      );
      assert.equal(error.excess, 1);
      assert.equal(await over.streamVersion("key-over"), 0);
    });

    await t.step("1,000 mutations land; 1,001 are refused", async () => {
      // Each event is 2 mutations (event, id index); each stream 1 (head);
      // each distinct event type (or tag) 1 (its key); each append 2 more
      // (global entry, notification): 2 × 497 + 2 + 2 + 2.
      const batch = (n: number, type: string) =>
        Array.from({ length: n }, (_, i) => ({ type, data: { i } }));
      await store.appendToStreams([
        { streamId: "bulk-a", events: batch(249, "Bulk") },
        { streamId: "bulk-b", events: batch(248, "Loaded") },
      ]);
      assert.equal(await store.streamVersion("bulk-a"), 249);
      // 2 × 498 + 2 + 1 + 2.
      const error = await refused(
        store.appendToStreams([
          { streamId: "bulk-c", events: batch(249, "Bulk") },
          { streamId: "bulk-d", events: batch(249, "Bulk") },
        ]),
        "mutations",
      );
      assert.equal(error.actual, 1_001);
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

    await t.step(
      "a command record too large for one KV value is stored without its payload, marked",
      async () => {
        const log = new KvCommandLog(kv, { prefix: ["limits"] });
        const record = sampleCommandRecord({ payload: "x".repeat(KV_LIMITS.valueBytes) });
        await log.record(record);
        const stored = await log.get(record.id);
        assert.equal(stored?.payloadCodec, "json");
        assert.deepEqual(JSON.parse(String(stored?.payload)), {
          "verdict.truncated": {
            bytes: KV_LIMITS.valueBytes,
            codec: record.payloadCodec,
          },
        });
        assert.deepEqual(stored?.metadata[ALTERED_PARTS_KEY], ["payload"]);
      },
    );

    await store.close();
    kv.close();
  });
});

// keySize and sizeWithin measure without encoding or serializing (that cost
// more than the rest of a small append's preparation); they must still agree
// with what KV itself refuses.
Deno.test("Deno KV sizes measured in place", async (t) => {
  await t.step("keySize is exact for text KV encodes in more than one byte", async () => {
    await withTempKv(async (open) => {
      const kv = await open();
      // NUL (escaped to two bytes), 2- and 3-byte characters, a surrogate
      // pair (4 bytes) and a lone surrogate (written as U+FFFD, 3 bytes).
      for (const tricky of ["a\0b", "é", "€", "😀", "\ud800x", "x\udc00", "\0\0😀é€"]) {
        const at: Deno.KvKey = ["k", tricky, 1];
        const pad = KV_LIMITS.keyBytes - keySize(at);
        const atLimit: Deno.KvKey = ["k", tricky, 1, "p".repeat(pad - 2)];
        assert.equal(keySize(atLimit), KV_LIMITS.keyBytes, JSON.stringify(tricky));
        await kv.set(atLimit, 1);
        const over: Deno.KvKey = ["k", tricky, 1, "p".repeat(pad - 1)];
        await assert.rejects(kv.set(over, 1), /too large/i, JSON.stringify(tricky));
      }
      kv.close();
    });
  });

  await t.step("sizeWithin never understates what the serializer writes", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const texts = [
      "",
      "a",
      "héllo",
      "€uro",
      "😀",
      "\ud800",
      "x".repeat(300),
      "€".repeat(100),
    ];
    const numbers = [0, -1, 1.5, 2 ** 31, -(2 ** 40), Number.MAX_VALUE, NaN];
    const value = (depth: number): unknown => {
      const pick = Math.floor(random() * (depth > 3 ? 5 : 8));
      switch (pick) {
        case 0:
          return texts[Math.floor(random() * texts.length)];
        case 1:
          return numbers[Math.floor(random() * numbers.length)];
        case 2:
          return random() < 0.5;
        case 3:
          return null;
        case 4:
          return undefined;
        case 5: {
          const array: unknown[] = Array.from(
            { length: Math.floor(random() * 6) },
            () => value(depth + 1),
          );
          // A sparse array is written index by index.
          if (random() < 0.2) array[20] = value(depth + 1);
          return array;
        }
        default: {
          const object: Record<string, unknown> = random() < 0.2
            ? Object.create(null)
            : {};
          for (let i = Math.floor(random() * 5); i > 0; i--) {
            const key = random() < 0.3
              ? String(Math.floor(random() * 1e6))
              : texts[i] + i;
            object[key] = value(depth + 1);
          }
          return object;
        }
      }
    };
    for (let i = 0; i < 2_000; i++) {
      const sample = value(0);
      const size = sizeWithin(sample, KV_LIMITS.valueBytes);
      assert.ok(size >= valueSize(sample), `${size} < ${valueSize(sample)}`);
    }
  });

  await t.step("sizeWithin is exact where the bound would pass the limit", () => {
    const big = { text: "x".repeat(40_000) }; // bound ~80 KB, serialized ~40 KB
    assert.equal(sizeWithin(big, KV_LIMITS.valueBytes), valueSize(big));
    // Other than plain data, the serializer measures.
    const dated = { at: new Date(0), bytes: new Uint8Array(10), big: 10n };
    assert.equal(sizeWithin(dated, KV_LIMITS.valueBytes), valueSize(dated));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(sizeWithin(cyclic, KV_LIMITS.valueBytes), valueSize(cyclic));
  });
});

Deno.test("Deno KV append conditions past the 10 checks: one key watched for all, still exact; none left: refused", async () => {
  await withTempKv(async (open) => {
    const store = new KvEventStore(await open(), { prefix: ["many-tags"] });
    // 12 items with tags of their own: more keys than an operation may check.
    const query = Array.from({ length: 12 }, (_, i) => ({ tags: [`tag:${i}`] }));
    const { head } = await store.readQuery(query);
    await store.appendToStream("unrelated", [{ type: "A", data: {}, tags: ["other"] }]);
    // An unrelated event moved the one key watched: the log says nothing matches.
    await store.appendToStream("s", [{ type: "A", data: {}, tags: ["tag:11"] }], {
      condition: { failIfEventsMatch: query, after: head },
    });
    await assert.rejects(
      store.appendToStream("t", [{ type: "A", data: {} }], {
        condition: { failIfEventsMatch: query, after: head },
      }),
      AppendConditionError,
    );
    // Ten streams use the ten checks: no room for the condition's.
    const streams = Array.from({ length: 10 }, (_, i) => ({
      streamId: `full-${i}`,
      events: [{ type: "A", data: {} }],
    }));
    await assert.rejects(
      store.appendToStreams(streams, {
        condition: { failIfEventsMatch: query, after: 0 },
      }),
      RangeError,
    );
    assert.equal(await store.streamVersion("full-0"), 0);
    await store.close();
  });
});

Deno.test("Deno KV append conditions watch the keys of their query: a tag's, a type's, or for \"all\" the one every append moves", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    // Every key an atomic operation checks, as the store builds it.
    let checked: string[] = [];
    const watching = new Proxy(kv, {
      get(target, property) {
        if (property === "atomic") {
          return () => {
            const operation = target.atomic();
            const check = operation.check.bind(operation);
            operation.check = (...checks: Deno.AtomicCheck[]) => {
              checked.push(...checks.map((c) => JSON.stringify(c.key)));
              return check(...checks);
            };
            return operation;
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const store = new KvEventStore(watching, { prefix: ["w"] });
    const watched = async (failIfEventsMatch: EventQuery) => {
      const { head } = await store.readQuery(failIfEventsMatch);
      checked = [];
      await store.appendToStream(`s-${uuidv7()}`, [{ type: "Seen", data: {} }], {
        condition: { failIfEventsMatch, after: head },
      });
      // Leave out the new stream's head check.
      return checked.filter((key) => !key.startsWith('["w","h"'));
    };
    assert.deepEqual(await watched([{ types: ["Closed", "Opened"] }]), [
      '["w","qy","Closed"]',
      '["w","qy","Opened"]',
    ]);
    assert.deepEqual(await watched([{ types: ["Closed"], tags: ["door:1", "x"] }]), [
      '["w","qt","door:1"]',
    ]);
    assert.deepEqual(await watched("all"), ['["w","n"]']);
    await store.close();
  });
});
