/**
 * Event-store cases: appending and reading back one stream, and what an invalid append leaves (nothing).
 *
 * @module
 */

import { DuplicateEventIdError, InvalidIdError } from "../../errors.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import { appendOne, type CaseOptions, checkOrdered, ev, type Test } from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function appendCases(test: Test, _options: CaseOptions): void {
  test("appendToStream() records events that readStream() returns", async (store) => {
    const result = await store.appendToStream("order-1", [
      ev("OrderPlaced", { total: 10 }),
      { type: "ItemAdded", data: { sku: "a" }, metadata: { userId: "ada" } },
    ]);
    checkEqual(result.nextExpectedVersion, 2, "next expected version");
    const events = await store.readStream("order-1");
    checkEqual(events.map((e) => e.type), ["OrderPlaced", "ItemAdded"], "types");
    checkEqual(events.map((e) => e.data), [{ total: 10 }, { sku: "a" }], "data");
    checkEqual(events.map((e) => e.version), [1, 2], "versions");
    checkEqual(events.map((e) => e.streamId), ["order-1", "order-1"], "stream ids");
    checkEqual(events[1].metadata, { userId: "ada" }, "metadata");
    checkEqual(events[0].metadata, {}, "metadata of an event without any");
    checkEqual(events.map((e) => e.id), result.events.map((e) => e.id), "ids");
    checkEqual(
      result.events.map((e) => e.position),
      events.map((e) => e.position),
      "positions returned by the append",
    );
    for (const event of events) {
      check(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
          .test(event.id),
        `a generated id is a UUIDv7, got ${event.id}`,
      );
      check(
        event.timestamp instanceof Date && !Number.isNaN(event.timestamp.getTime()),
        "timestamp is a valid Date",
      );
      check(typeof event.position === "number", "position is a plain number");
    }
    checkOrdered(events, "positions within a stream");
  });

  test("a missing stream reads as empty at version 0", async (store) => {
    checkEqual(await store.readStream("nobody"), [], "events of a missing stream");
    checkEqual(await store.streamVersion("nobody"), 0, "version of a missing stream");
    checkEqual(
      await store.readStream("nobody", { direction: "backward" }),
      [],
      "backward read of a missing stream",
    );
  });

  test("an empty append writes nothing and creates no stream", async (store) => {
    const result = await store.appendToStream("empty", []);
    checkEqual(result.nextExpectedVersion, 0, "next expected version");
    checkEqual(result.events, [], "events");
    checkEqual(await store.streamVersion("empty"), 0, "stream version");
    checkEqual(await store.readAll(), [], "all events");
  });

  test("streams are isolated from each other", async (store) => {
    await appendOne(store, "a", 2);
    await appendOne(store, "b", 3);
    checkEqual(await store.streamVersion("a"), 2, "version of a");
    checkEqual(await store.streamVersion("b"), 3, "version of b");
    const a = await store.readStream("a");
    checkEqual(a.map((e) => e.streamId), ["a", "a"], "a holds only its events");
    checkEqual(a.map((e) => e.version), [1, 2], "a's versions");
    checkEqual((await store.readStream("b")).map((e) => e.version), [1, 2, 3], "b");
  });

  test("sequential appends continue the stream's versions", async (store) => {
    let expected = 0;
    for (let i = 0; i < 5; i++) {
      const result = await store.appendToStream("s", [ev("A"), ev("B")], {
        expectedVersion: expected,
      });
      checkEqual(result.nextExpectedVersion, expected + 2, `append ${i}`);
      checkEqual(
        result.events.map((e) => e.version),
        [expected + 1, expected + 2],
        `versions of append ${i}`,
      );
      expected = result.nextExpectedVersion;
    }
    checkEqual(await store.streamVersion("s"), 10, "final version");
  });

  test("invalid appends are refused with a typed error and write nothing", async (store) => {
    const attempts: [string, () => Promise<unknown>, new (...args: never[]) => Error][] =
      [
        ["an empty stream id", () => store.appendToStream("", [ev("A")]), InvalidIdError],
        [
          "an event without type",
          () => store.appendToStream("s", [{ type: "", data: {} }]),
          InvalidIdError,
        ],
        [
          "a negative expected version",
          () => store.appendToStream("s", [ev("A")], { expectedVersion: -1 }),
          TypeError,
        ],
        ["an unknown expected version", () =>
          store.appendToStream("s", [ev("A")], {
            expectedVersion: "latest" as unknown as "any",
          }), TypeError],
        [
          "an event that is not an object",
          () => store.appendToStream("s", [null as never]),
          TypeError,
        ],
        ["an id given twice", () =>
          store.appendToStream("s", [
            { ...ev("A"), id: "same-id" },
            { ...ev("B"), id: "same-id" },
          ]), DuplicateEventIdError],
      ];
    for (const [what, attempt, type] of attempts) {
      const error = await checkRejects(attempt(), what);
      check(error instanceof type, `${what}: a ${type.name}, got ${String(error)}`);
    }
    checkEqual(await store.readAll(), [], "nothing written");
  });
}
