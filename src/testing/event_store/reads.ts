/**
 * Event-store cases: readStream() options, large appends, readAll() order under concurrent writes.
 *
 * @module
 */

import type { RecordedEvent } from "../../event.ts";
import type { EventStore } from "../../event_store.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import {
  appendOne,
  type CaseOptions,
  checkConflict,
  checkOrdered,
  ev,
  type Test,
} from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function readCases(test: Test, _options: CaseOptions): void {
  test("readStream() honours from, limit and backward", async (store) => {
    await appendOne(store, "s", 10);
    const versions = async (options: Parameters<EventStore["readStream"]>[1]) =>
      (await store.readStream("s", options)).map((e) => e.version);
    checkEqual(await versions({ from: 4 }), [4, 5, 6, 7, 8, 9, 10], "from 4");
    checkEqual(await versions({ from: 4, limit: 2 }), [4, 5], "from 4, limit 2");
    checkEqual(await versions({ limit: 3 }), [1, 2, 3], "limit 3");
    checkEqual(await versions({ limit: 0 }), [], "limit 0");
    checkEqual(await versions({ from: 11 }), [], "from past the end");
    checkEqual(
      await versions({ direction: "backward" }),
      [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
      "backward",
    );
    checkEqual(
      await versions({ direction: "backward", limit: 3 }),
      [10, 9, 8],
      "backward, limit 3",
    );
    checkEqual(
      await versions({ direction: "backward", from: 5, limit: 2 }),
      [5, 4],
      "backward from 5, limit 2",
    );
    checkEqual(
      await versions({ direction: "backward", from: 50, limit: 1 }),
      [10],
      "backward from past the end",
    );
  });

  test("a large append reads back whole, from any version, in any page", async (store) => {
    // Large enough for a store to keep it in pieces; the reads below start
    // and stop inside it and across its ends.
    const size = 250;
    await appendOne(store, "other");
    const batch = await store.appendToStream(
      "big",
      Array.from({ length: size }, (_, i) => ev("Line", { i })),
      { expectedVersion: "no_stream" },
    );
    checkEqual(await store.streamVersion("big"), size, "the head after the large append");
    checkConflict(
      await checkRejects(
        store.appendToStream("big", [ev("Late")], { expectedVersion: 100 }),
        "expected version 100, inside the large append at its head",
      ),
      "big",
      100,
      size,
      "expected version 100 at the head",
    );
    await store.appendToStream("big", [ev("After")], { expectedVersion: size });
    await appendOne(store, "other", 2);
    const versions = async (options: Parameters<EventStore["readStream"]>[1]) =>
      (await store.readStream("big", options)).map((e) => e.version);
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);

    const whole = await store.readStream("big");
    checkEqual(whole.map((e) => e.version), range(1, size + 1), "every version");
    checkEqual(
      whole.slice(0, size).map((e) => (e.data as { i: number }).i),
      range(0, size - 1),
      "every event's data, in order",
    );
    checkEqual(
      whole.slice(0, size).map((e) => [e.id, e.position]),
      batch.events.map((e) => [e.id, e.position]),
      "ids and positions as the append returned them",
    );
    checkOrdered(whole, "positions within the stream");
    checkEqual(
      await versions({ from: 99, limit: 5 }),
      range(99, 103),
      "from 99, limit 5",
    );
    checkEqual(await versions({ from: 150 }), range(150, size + 1), "from 150");
    checkEqual(
      await versions({ from: size, limit: 2 }),
      [size, size + 1],
      "across its end",
    );
    checkEqual(await versions({ limit: 120 }), range(1, 120), "limit 120");
    checkEqual(
      await versions({ direction: "backward", from: 201, limit: 3 }),
      [201, 200, 199],
      "backward from 201",
    );
    checkEqual(
      await versions({ direction: "backward", limit: 3 }),
      [size + 1, size, size - 1],
      "backward from the head",
    );
    checkEqual(await store.streamVersion("big"), size + 1, "the head");
    for (const stale of [100, size]) {
      checkConflict(
        await checkRejects(
          store.appendToStream("big", [ev("Late")], { expectedVersion: stale }),
          `expected version ${stale} inside the large append`,
        ),
        "big",
        stale,
        size + 1,
        `expected version ${stale}`,
      );
    }

    const all = await store.readAll();
    checkEqual(all.length, size + 4, "every event in the global log");
    checkOrdered(all, "global order");
    const inside = batch.events[119].position;
    checkEqual(
      (await store.readAll({ after: inside, limit: 3 })).map((e) => e.id),
      batch.events.slice(120, 123).map((e) => e.id),
      "a page starting inside the large append",
    );
    for (const pageSize of [1, 7, 100, 101]) {
      const paged: string[] = [];
      let checkpoint = 0;
      while (true) {
        const page = await store.readAll({ after: checkpoint, limit: pageSize });
        if (page.length === 0) break;
        check(page.length <= pageSize, `a page of at most ${pageSize}`);
        for (const event of page) paged.push(event.id);
        checkpoint = page[page.length - 1].position;
      }
      checkEqual(paged, all.map((e) => e.id), `pages of ${pageSize}`);
    }
  });

  test("readStream() and readAll() refuse invalid options", async (store) => {
    for (const options of [{ from: 0 }, { from: 1.5 }, { limit: -1 }]) {
      const error = await checkRejects(
        store.readStream("s", options),
        `readStream(${JSON.stringify(options)})`,
      );
      check(error instanceof RangeError, `a RangeError, got ${String(error)}`);
    }
    for (const options of [{ after: -1 }, { limit: 0.5 }]) {
      const error = await checkRejects(
        store.readAll(options),
        `readAll(${JSON.stringify(options)})`,
      );
      check(error instanceof RangeError, `a RangeError, got ${String(error)}`);
    }
  });

  test("readAll() returns every event once, in strictly increasing order, after a position", async (store) => {
    await appendOne(store, "a", 3);
    await appendOne(store, "b", 2);
    await appendOne(store, "a", 1);
    const all = await store.readAll();
    checkEqual(all.length, 6, "every event");
    checkOrdered(all, "global order");
    checkEqual(
      all.map((e) => `${e.streamId}@${e.version}`),
      ["a@1", "a@2", "a@3", "b@1", "b@2", "a@4"],
      "events in append order",
    );
    checkEqual(
      (await store.readAll({ after: all[2].position })).map((e) => e.id),
      all.slice(3).map((e) => e.id),
      "after the third event",
    );
    checkEqual(
      (await store.readAll({ after: all[0].position, limit: 2 })).map((e) => e.id),
      all.slice(1, 3).map((e) => e.id),
      "after the first, limit 2",
    );
    checkEqual(
      await store.readAll({ after: all[5].position }),
      [],
      "after the last event",
    );
    // Paging by checkpoint sees each event exactly once.
    const paged: string[] = [];
    let checkpoint = 0;
    while (true) {
      const page = await store.readAll({ after: checkpoint, limit: 4 });
      if (page.length === 0) break;
      for (const event of page) paged.push(event.id);
      checkpoint = page[page.length - 1].position;
    }
    checkEqual(paged, all.map((e) => e.id), "pages of 4");
  });

  test("a reader following readAll() during concurrent writes sees every event once, in order", async (store) => {
    const perWriter = 25;
    let writing = true;
    const seen: RecordedEvent[] = [];
    const follower = (async () => {
      let checkpoint = 0;
      while (true) {
        const done = !writing;
        const page = await store.readAll({ after: checkpoint, limit: 7 });
        for (const event of page) seen.push(event);
        if (page.length > 0) checkpoint = page[page.length - 1].position;
        else if (done) return;
        else await new Promise((resolve) => setTimeout(resolve, 0));
      }
    })();
    await Promise.all(
      Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; i < perWriter; i++) {
          await store.appendToStream(`writer-${writer}`, [ev("Wrote", { i })]);
        }
      }),
    );
    writing = false;
    await follower;
    checkEqual(seen.length, 4 * perWriter, "events seen by the follower");
    checkEqual(new Set(seen.map((e) => e.id)).size, seen.length, "no event twice");
    checkOrdered(seen, "the follower's order");
    for (let writer = 0; writer < 4; writer++) {
      checkEqual(
        seen.filter((e) => e.streamId === `writer-${writer}`).map((e) => e.version),
        Array.from({ length: perWriter }, (_, i) => i + 1),
        `writer ${writer}'s events in stream order`,
      );
    }
  });
}
