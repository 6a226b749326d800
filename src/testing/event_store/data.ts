/**
 * Event-store cases: stream ids, metadata and data that must round-trip, and payload limits.
 *
 * @module
 */

import { check, checkEqual, checkRejects } from "../assert.ts";
import {
  appendOne,
  type CaseOptions,
  checkOrdered,
  ev,
  type Test,
  type TestEvent,
} from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function dataCases(test: Test, options: CaseOptions): void {
  test("stream ids with unicode, slashes, quotes, SQL and 1,000 characters work", async (store) => {
    const ids = [
      "konto-ünïcödé-日本語-🙂",
      "tenant/42/account/7",
      `quote'double"back\\slash`,
      "'; DROP TABLE events; --",
      "100% _wild_ [chars] {x} $1 ?",
      "space in id",
      "x".repeat(1000),
    ];
    for (const id of ids) {
      await store.appendToStream(id, [ev("Made", { id })], {
        expectedVersion: "no_stream",
      });
    }
    for (const id of ids) {
      const events = await store.readStream(id);
      checkEqual(events.map((e) => e.streamId), [id], `stream ${id.slice(0, 30)}`);
      checkEqual(events[0].data, { id }, `data of ${id.slice(0, 30)}`);
      checkEqual(await store.streamVersion(id), 1, `version of ${id.slice(0, 30)}`);
    }
    checkEqual((await store.readAll()).length, ids.length, "one event per stream");
  });

  test("metadata round-trips, including nested and unicode values", async (store) => {
    const metadata = {
      correlationId: "corr-1",
      causationId: "cause-1",
      userId: "ünïcödé 🙂",
      tenantId: "t-1",
      traceId: "00f067aa0ba902b7",
      custom: { nested: [1, "two", { three: true }], empty: {}, nil: null },
    };
    await store.appendToStream("s", [{ type: "A", data: { n: 1 }, metadata }]);
    const [event] = await store.readStream("s");
    checkEqual(event.metadata, metadata, "metadata");
    checkEqual((await store.readAll())[0].metadata, metadata, "metadata via readAll");
  });

  test("data round-trips JSON values: unicode, numbers, null, empty, nesting", async (store) => {
    const data = {
      // (No NUL character: PostgreSQL's jsonb cannot hold one, and its store
      // refuses it with a clear error instead.)
      text: 'naïve café – ☃ – 🙂 – tab\tnewline\n control \u0001 quote " backslash \\',
      numbers: [0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER],
      flags: [true, false],
      nothing: null,
      empty: { object: {}, array: [], string: "" },
      deep: { a: { b: { c: { d: { e: "deep" } } } } },
    };
    await store.appendToStream("s", [{ type: "Data", data }]);
    checkEqual((await store.readStream("s"))[0].data, data, "data");
  });

  test("a __proto__ key from JSON.parse stays data, never a prototype", async (store) => {
    // JSON.parse makes "__proto__" an own key. A store that copies it with
    // `copy[key] = value` (outside Deno, where Object.prototype.__proto__
    // exists) sets the copy's prototype instead, and the key is lost.
    const data = JSON.parse(
      '{"n":1,"__proto__":{"injected":true},"inner":{"__proto__":[2]}}',
    );
    const metadata = JSON.parse('{"userId":"u","__proto__":{"injected":true}}');
    await store.appendToStream("s", [{ type: "A", data, metadata }]);
    for (
      const [where, event] of [
        ["readStream", (await store.readStream("s"))[0]],
        ["readAll", (await store.readAll())[0]],
      ] as const
    ) {
      checkEqual(event.data, data, `data via ${where}`);
      checkEqual(event.metadata, metadata, `metadata via ${where}`);
      for (
        const value of [
          event.data,
          (event.data as { inner: object }).inner,
          event.metadata,
        ]
      ) {
        check(
          Object.getPrototypeOf(value) === Object.prototype,
          `a plain object via ${where}, its prototype untouched`,
        );
      }
    }
  });

  test("tags and append conditions: kept and checked (readQuery), or else refused, never dropped", async (store) => {
    if (typeof store.readQuery === "function") {
      // Such a store runs the DCB suite (dcbContract): tags must round-trip.
      await store.appendToStream("tagged", [{ type: "A", data: {}, tags: ["t:1"] }]);
      const [event] = await store.readStream("tagged");
      checkEqual(event.tags, ["t:1"], "tags read back");
      return;
    }
    const tagged = await checkRejects(
      store.appendToStream("tagged", [{ type: "A", data: {}, tags: ["t:1"] }]),
      "an event with tags, on a store that does not keep them",
    );
    check(tagged instanceof TypeError, `a TypeError, got ${String(tagged)}`);
    const conditional = await checkRejects(
      store.appendToStream("conditional", [{ type: "A", data: {} }], {
        condition: { failIfEventsMatch: "all", after: 0 },
      }),
      "a condition, on a store that does not check it",
    );
    check(conditional instanceof TypeError, `a TypeError, got ${String(conditional)}`);
    checkEqual(await store.streamVersion("tagged"), 0, "no tagged event written");
    checkEqual(
      await store.streamVersion("conditional"),
      0,
      "no conditional event written",
    );
  });

  test("many streams keep their own versions", async (store) => {
    const streams = 200;
    await Promise.all(
      Array.from({ length: streams }, (_, i) => appendOne(store, `many-${i}`, 2)),
    );
    for (let i = 0; i < streams; i += 37) {
      checkEqual(await store.streamVersion(`many-${i}`), 2, `stream ${i}`);
    }
    const all = await store.readAll();
    checkEqual(all.length, 2 * streams, "every event");
    checkOrdered(all, "global order");
  });

  const MiB = 1024 * 1024;
  const maxPayload = options.maxPayloadBytes ?? MiB;
  test(
    maxPayload >= MiB
      ? "a 1 MiB payload round-trips"
      : `a payload at the store's limit (${maxPayload} bytes) round-trips, 1 MiB is refused`,
    async (store) => {
      // "é" is two bytes of UTF-8; the envelope around it gets 256 bytes of room.
      const blob = "é".repeat(Math.floor((Math.min(maxPayload, MiB) - 256) / 2));
      await store.appendToStream("big", [ev("Big", { blob })]);
      const [event] = await store.readStream<TestEvent>("big");
      check(event.data.blob === blob, "the large string comes back intact");
      if (maxPayload < MiB) {
        await checkRejects(
          store.appendToStream("big", [ev("Huge", { blob: "é".repeat(MiB / 2) })]),
          "a 1 MiB payload beyond the store's limit",
        );
        checkEqual(await store.streamVersion("big"), 1, "nothing written by the refusal");
      }
    },
  );
}
