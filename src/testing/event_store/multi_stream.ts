/**
 * Event-store cases: appendToStreams(): atomic, checked per stream, never half-committed.
 *
 * @module
 */

import { checkEqual, checkRejects } from "../assert.ts";
import {
  appendOne,
  type CaseOptions,
  checkConflict,
  ev,
  type Test,
  type TestEvent,
} from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function multiStreamCases(test: Test, options: CaseOptions): void {
  const { writers } = options;
  test("appendToStreams() writes several streams atomically", async (store) => {
    await appendOne(store, "from");
    const results = await store.appendToStreams([
      { streamId: "from", events: [ev("Debited")], expectedVersion: 1 },
      {
        streamId: "to",
        events: [ev("Credited"), ev("Noted")],
        expectedVersion: "no_stream",
      },
    ]);
    checkEqual(
      results.map((r) => [r.streamId, r.nextExpectedVersion]),
      [["from", 2], ["to", 2]],
      "results per stream",
    );
    const all = await store.readAll();
    checkEqual(all.length, 4, "every event");
    const written = all.slice(1);
    checkEqual(
      written.map((e) => e.position - written[0].position),
      [0, 1, 2],
      "one append's events are contiguous in the global order",
    );
  });

  test("appendToStreams() writes nothing when one stream's expectation fails", async (store) => {
    await appendOne(store, "a");
    await appendOne(store, "b", 2);
    const error = await checkRejects(
      store.appendToStreams([
        { streamId: "a", events: [ev("Fine")], expectedVersion: 1 },
        { streamId: "new", events: [ev("Fine")], expectedVersion: "no_stream" },
        { streamId: "b", events: [ev("Stale")], expectedVersion: 1 },
      ]),
      "a multi-stream append with one stale stream",
    );
    checkConflict(error, "b", 1, 2, "the stale stream");
    checkEqual(await store.streamVersion("a"), 1, "a untouched");
    checkEqual(await store.streamVersion("new"), 0, "new not created");
    checkEqual((await store.readAll()).length, 3, "no event written");
  });

  test("appendToStreams() checks a stream given no events: a decision read from it holds, or nothing is written", async (store) => {
    await appendOne(store, "read");
    const stale = await checkRejects(
      store.appendToStreams([
        { streamId: "written", events: [ev("Decided")], expectedVersion: "no_stream" },
        { streamId: "read", events: [], expectedVersion: 0 },
      ]),
      "an append whose read-only stream moved",
    );
    checkConflict(stale, "read", 0, 1, "the read-only stream");
    checkEqual(await store.streamVersion("written"), 0, "nothing written");
    const results = await store.appendToStreams([
      { streamId: "written", events: [ev("Decided")], expectedVersion: "no_stream" },
      { streamId: "read", events: [], expectedVersion: 1 },
    ]);
    checkEqual(
      results.map((r) => [r.streamId, r.nextExpectedVersion, r.events.length]),
      [["written", 1, 1], ["read", 1, 0]],
      "results per stream",
    );
    checkEqual(await store.streamVersion("read"), 1, "the read-only stream unchanged");
  });

  test(`race: ${writers} multi-stream appends over shared streams never half-commit`, async (store) => {
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: writers },
        (_, i) =>
          store.appendToStreams([
            { streamId: "left", events: [ev("L", { i })], expectedVersion: "no_stream" },
            {
              streamId: `right-${i}`,
              events: [ev("R", { i })],
              expectedVersion: "no_stream",
            },
          ]),
      ),
    );
    checkEqual(outcomes.filter((o) => o.status === "fulfilled").length, 1, "winners");
    const all = await store.readAll<TestEvent>();
    checkEqual(all.length, 2, "exactly the winner's two events");
    checkEqual(all[0].data.i, all[1].data.i, "both from the same writer");
  });
}
