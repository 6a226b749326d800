/**
 * Event-store cases: every expected-version mode, alone and under races.
 *
 * @module
 */

import { StreamNotFoundError } from "../../errors.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import { appendOne, type CaseOptions, checkConflict, ev, type Test } from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function expectedVersionCases(test: Test, options: CaseOptions): void {
  const { writers } = options;
  test("an exact expected version is enforced with the real actual version", async (store) => {
    await appendOne(store, "s", 3);
    await store.appendToStream("s", [ev("Ok")], { expectedVersion: 3 });
    for (const stale of [0, 2, 3, 5]) {
      const error = await checkRejects(
        store.appendToStream("s", [ev("Late")], { expectedVersion: stale }),
        `expected version ${stale} on a stream at 4`,
      );
      checkConflict(error, "s", stale, 4, `expected version ${stale}`);
    }
    checkEqual(await store.streamVersion("s"), 4, "nothing written by conflicts");
  });

  test("expected version 0 means the stream must not exist", async (store) => {
    await store.appendToStream("new", [ev("Created")], { expectedVersion: 0 });
    const error = await checkRejects(
      store.appendToStream("new", [ev("Again")], { expectedVersion: 0 }),
      "expected version 0 on an existing stream",
    );
    checkConflict(error, "new", 0, 1, "expected version 0");
  });

  test('"no_stream" creates a stream and refuses an existing one', async (store) => {
    const created = await store.appendToStream("s", [ev("Created")], {
      expectedVersion: "no_stream",
    });
    checkEqual(created.nextExpectedVersion, 1, "created");
    const error = await checkRejects(
      store.appendToStream("s", [ev("Again")], { expectedVersion: "no_stream" }),
      '"no_stream" on an existing stream',
    );
    checkConflict(error, "s", "no_stream", 1, '"no_stream"');
    checkEqual(await store.streamVersion("s"), 1, "nothing written by the conflict");
  });

  test('"stream_exists" refuses a missing stream and appends to an existing one', async (store) => {
    const error = await checkRejects(
      store.appendToStream("s", [ev("Orphan")], { expectedVersion: "stream_exists" }),
      '"stream_exists" on a missing stream',
    );
    check(
      error instanceof StreamNotFoundError,
      `expected a StreamNotFoundError, got ${String(error)}`,
    );
    checkConflict(error, "s", "stream_exists", 0, '"stream_exists"');
    checkEqual(await store.readAll(), [], "nothing written");
    await appendOne(store, "s");
    const result = await store.appendToStream("s", [ev("More")], {
      expectedVersion: "stream_exists",
    });
    checkEqual(result.nextExpectedVersion, 2, "appended to the existing stream");
  });

  test('"any" appends whatever the version', async (store) => {
    await store.appendToStream("s", [ev("A")], { expectedVersion: "any" });
    await store.appendToStream("s", [ev("B")], { expectedVersion: "any" });
    await store.appendToStream("s", [ev("C")]);
    checkEqual(
      (await store.readStream("s")).map((e) => e.type),
      ["A", "B", "C"],
      "all three appended",
    );
  });

  test(`race: ${writers} writers with the same exact expected version, exactly one wins`, async (store) => {
    await appendOne(store, "race");
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: writers },
        (_, i) =>
          store.appendToStream("race", [ev("Raced", { writer: i })], {
            expectedVersion: 1,
          }),
      ),
    );
    const won = outcomes.filter((o) => o.status === "fulfilled");
    checkEqual(won.length, 1, "winners");
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        checkConflict(outcome.reason, "race", 1, 2, "a losing writer");
      }
    }
    checkEqual(await store.streamVersion("race"), 2, "one event added");
  });

  test(`race: ${writers} concurrent "no_stream" creators, exactly one creates`, async (store) => {
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: writers },
        (_, i) =>
          store.appendToStream("created", [ev("Created", { writer: i })], {
            expectedVersion: "no_stream",
          }),
      ),
    );
    checkEqual(outcomes.filter((o) => o.status === "fulfilled").length, 1, "creators");
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        checkConflict(outcome.reason, "created", "no_stream", 1, "a losing creator");
      }
    }
    checkEqual((await store.readStream("created")).length, 1, "one event stored");
  });

  test(`race: ${writers} concurrent "any" and "stream_exists" writers all land`, async (store) => {
    await appendOne(store, "shared");
    const outcomes = await Promise.allSettled(
      Array.from(
        { length: writers },
        (_, i) =>
          store.appendToStream("shared", [ev("Shared", { writer: i }), ev("Twice")], {
            expectedVersion: i % 2 === 0 ? "any" : "stream_exists",
          }),
      ),
    );
    const failures = outcomes.filter((o) => o.status === "rejected");
    checkEqual(failures.map((f) => String(f.reason)), [], "failed writers");
    const events = await store.readStream("shared");
    checkEqual(events.length, 1 + 2 * writers, "every event stored");
    checkEqual(
      events.map((e) => e.version),
      Array.from({ length: events.length }, (_, i) => i + 1),
      "versions are 1..n without gaps or duplicates",
    );
    // Each append's two events stay together.
    for (let i = 1; i < events.length; i += 2) {
      checkEqual(
        [events[i].type, events[i + 1].type],
        ["Shared", "Twice"],
        "an append's events are contiguous",
      );
    }
  });
}
