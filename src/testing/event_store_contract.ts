/**
 * The event-store contract suite: what every `EventStore` must do, as plain
 * async cases that take a store factory and import no test runner.
 *
 * @module
 */

import {
  ConcurrencyError,
  DuplicateEventIdError,
  InvalidIdError,
  StoreClosedError,
  StreamNotFoundError,
} from "../errors.ts";
import type { Event, RecordedEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import { Subscription } from "../read_side/subscription.ts";
import { follow } from "../read_side/follow.ts";
import { UpcastError, withUpcasting } from "../upcasting.ts";
import { uuidv7 } from "../uuid.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import type { ContractCase } from "./contract.ts";
import { caseList, InMemoryCheckpoints } from "./cases.ts";
import { eventStoreDataCases } from "./event_store_data_contract.ts";

/**
 * Makes a new, empty store for one case.
 *
 * @example A fresh store per case
 * ```ts
 * import type { EventStoreFactory } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const factory: EventStoreFactory = () => new MemoryEventStore();
 * ```
 */
export type EventStoreFactory = () => EventStore | Promise<EventStore>;

/**
 * Options of {@linkcode eventStoreContract}.
 *
 * @example Fewer racers for a slow backend
 * ```ts
 * import { eventStoreContract, type EventStoreContractOptions } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const options: EventStoreContractOptions = { writers: 8 };
 * const cases = eventStoreContract(() => new MemoryEventStore(), options);
 * ```
 */
export interface EventStoreContractOptions {
  /** Concurrent writers in the race cases (default 16). */
  readonly writers?: number;
  /**
   * The largest event payload the store accepts, in bytes of UTF-8 text
   * (default 1 MiB, which every store without a documented lower limit must
   * take). A store with a lower limit must store a payload of that size and
   * refuse a 1 MiB one with an error, writing nothing.
   */
  readonly maxPayloadBytes?: number;
}

type TestEvent = Event<string, Record<string, unknown>>;

function ev(type: string, data: Record<string, unknown> = {}): TestEvent {
  return { type, data };
}

async function appendOne(
  store: EventStore,
  streamId: string,
  count = 1,
): Promise<void> {
  await store.appendToStream(
    streamId,
    Array.from({ length: count }, (_, i) => ev("Happened", { i })),
  );
}

function checkConflict(
  error: unknown,
  streamId: string,
  expected: unknown,
  actual: number,
  what: string,
): void {
  check(
    error instanceof ConcurrencyError,
    `${what}: expected a ConcurrencyError, got ${String(error)}`,
  );
  checkEqual(
    { streamId: error.streamId, expected: error.expected, actual: error.actual },
    { streamId, expected, actual },
    `${what}: the conflict's facts`,
  );
}

function checkOrdered(events: readonly RecordedEvent[], what: string): void {
  for (let i = 1; i < events.length; i++) {
    check(
      events[i].position > events[i - 1].position,
      `${what}: position ${events[i].position} follows ${events[i - 1].position}`,
    );
  }
}

/**
 * The cases every event store must pass. Call it with a factory that gives a
 * fresh, empty store; each case closes the store it made.
 *
 * @example Under `deno test`
 * ```ts ignore
 * import { eventStoreContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * Deno.test("memory event store keeps the contract", async (t) => {
 *   for (const c of eventStoreContract(() => new MemoryEventStore())) {
 *     await t.step(c.name, c.run);
 *   }
 * });
 * ```
 */
export function eventStoreContract(
  factory: EventStoreFactory,
  options: EventStoreContractOptions = {},
): ContractCase[] {
  const writers = options.writers ?? 16;
  const { cases, test } = caseList(factory);

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

  test("follow() catches up, then sees events appended while it waits, once and in order", async (store) => {
    await appendOne(store, "before", 3);
    const stop = new AbortController();
    const seen: RecordedEvent[] = [];
    let caughtUp!: () => void;
    const reachedThree = new Promise<void>((resolve) => caughtUp = resolve);
    const following = (async () => {
      for await (
        const event of follow(store, {
          signal: stop.signal,
          batchSize: 2,
          pollIntervalMs: 20,
        })
      ) {
        seen.push(event);
        if (seen.length === 3) caughtUp();
        if (seen.length === 3 + 4 * 5) stop.abort();
      }
    })();
    await reachedThree;
    await Promise.all(
      Array.from({ length: 4 }, async (_, writer) => {
        for (let i = 0; i < 5; i++) await appendOne(store, `after-${writer}`);
      }),
    );
    await following;
    checkEqual(seen.length, 23, "events followed");
    checkEqual(new Set(seen.map((e) => e.id)).size, 23, "no event twice");
    checkOrdered(seen, "the follower's order");
    checkEqual(
      seen.map((e) => e.id),
      (await store.readAll()).map((e) => e.id),
      "the same events as readAll(), in the same order",
    );
  });

  test("a durable Subscription catches up, follows, stops, and resumes from its checkpoint", async (store) => {
    const checkpoints = new InMemoryCheckpoints();
    const seen: string[] = [];
    const start = () =>
      new Subscription({
        name: "contract",
        store,
        checkpoints,
        pollIntervalMs: 20,
        checkpointEvery: { events: 3 },
        handle: (event) => void seen.push(`${event.streamId}@${event.version}`),
      }).start();
    await appendOne(store, "a", 4);
    const first = start();
    await first.waitUntilCaughtUp();
    await appendOne(store, "b", 2);
    await first.waitUntilCaughtUp();
    await first.stop();
    await appendOne(store, "a", 1);
    const second = start();
    await second.waitUntilCaughtUp();
    await second.stop();
    checkEqual(
      seen,
      ["a@1", "a@2", "a@3", "a@4", "b@1", "b@2", "a@5"],
      "each event once, in order",
    );
    const all = await store.readAll();
    checkEqual(
      await checkpoints.load("contract"),
      all[all.length - 1].position,
      "checkpoint",
    );
  });

  test("withUpcasting() reads old shapes in the current one, and refuses what it cannot", async (store) => {
    // Events written over time: v1 (no schema version), v2, and one from the future.
    await store.appendToStream("account", [
      { type: "Deposited", data: { cents: 500 } },
      { type: "Deposited", data: { amount: 7 }, metadata: { schemaVersion: 2 } },
    ]);
    await store.appendToStream("future", [
      { type: "Deposited", data: {}, metadata: { schemaVersion: 9 } },
    ]);
    const upcasting = withUpcasting(store, {
      currentVersions: { Deposited: 3 },
      upcasters: [
        {
          type: "Deposited",
          from: 1,
          upcast: (d) => ({ amount: (d as { cents: number }).cents / 100 }),
        },
        {
          type: "Deposited",
          from: 2,
          upcast: (d) => ({ ...(d as object), currency: "EUR" }),
        },
      ],
    });
    const read = await upcasting.readStream("account");
    checkEqual(
      read.map((e) => e.data),
      [{ amount: 5, currency: "EUR" }, { amount: 7, currency: "EUR" }],
      "v1 and v2 events read as v3",
    );
    checkEqual(read.map((e) => e.metadata.schemaVersion), [3, 3], "schema versions");
    const written = await upcasting.appendToStream("account", [
      { type: "Deposited", data: { amount: 1, currency: "USD" } },
    ]);
    checkEqual(
      written.events[0].metadata.schemaVersion,
      3,
      "new events are stamped current",
    );
    checkEqual(
      (await store.readStream("account", { from: 3 }))[0].metadata.schemaVersion,
      3,
      "and stored so",
    );
    const newer = await checkRejects(
      upcasting.readStream("future"),
      "an event from newer code",
    );
    check(newer instanceof UpcastError, `an UpcastError, got ${String(newer)}`);
    const gap = withUpcasting(store, {
      currentVersions: { Deposited: 3 },
      upcasters: [],
    });
    const missing = await checkRejects(gap.readAll(), "an event with no upcaster path");
    check(missing instanceof UpcastError, `an UpcastError, got ${String(missing)}`);
    // Types that name Object.prototype's members are types like any other:
    // version 1, not the inherited function.
    const inherited = await upcasting.appendToStream("inherited", [
      { type: "constructor", data: {} },
      { type: "toString", data: {} },
    ]);
    checkEqual(
      inherited.events.map((e) => e.metadata.schemaVersion),
      [1, 1],
      "types named like Object.prototype's members are at version 1",
    );
    checkEqual(
      (await store.readStream("inherited")).map((e) => e.metadata.schemaVersion),
      [1, 1],
      "and stored so",
    );
  });

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

  test("a retried append with the same event ids is idempotent", async (store) => {
    const events = [
      { ...ev("A"), id: uuidv7() },
      { ...ev("B"), id: uuidv7() },
    ];
    const first = await store.appendToStream("s", events, {
      expectedVersion: "no_stream",
    });
    const retry = await store.appendToStream("s", events, {
      expectedVersion: "no_stream",
    });
    checkEqual(retry.nextExpectedVersion, first.nextExpectedVersion, "same version");
    checkEqual(retry.events.map((e) => e.id), events.map((e) => e.id), "same ids");
    checkEqual(
      retry.events.map((e) => e.position),
      first.events.map((e) => e.position),
      "same positions",
    );
    checkEqual(await store.streamVersion("s"), 2, "stored once");
    checkEqual((await store.readAll()).length, 2, "no duplicates in the global log");
    const stored = await store.readStream("s");
    checkEqual(stored.map((e) => e.id), events.map((e) => e.id), "given ids are kept");
  });

  test("ids the store generated are known to later appends", async (store) => {
    await appendOne(store, "other", 3);
    const first = await store.appendToStream("s", [ev("A"), ev("B")]);
    await appendOne(store, "other", 3);
    const again = first.events.map((e) => ({ type: e.type, data: e.data, id: e.id }));
    const retry = await store.appendToStream("s", again);
    checkEqual(
      retry.events.map((e) => e.position),
      first.events.map((e) => e.position),
      "a resend with the generated ids returns the first result",
    );
    const error = await checkRejects(
      store.appendToStream("t", [again[1]]),
      "a generated id reused in another stream",
    );
    check(
      error instanceof DuplicateEventIdError,
      `a DuplicateEventIdError, got ${String(error)}`,
    );
    checkEqual((await store.readAll()).length, 8, "nothing written twice");
  });

  test("an event id reused for another event is refused", async (store) => {
    const id = uuidv7();
    await store.appendToStream("s", [{ ...ev("A"), id }]);
    for (
      const [what, attempt] of [
        ["another stream", () => store.appendToStream("t", [{ ...ev("A"), id }])],
        [
          "with a new event",
          () => store.appendToStream("s", [{ ...ev("A"), id }, ev("New")]),
        ],
      ] as const
    ) {
      const error = await checkRejects(attempt(), `reusing an id in ${what}`);
      check(
        error instanceof DuplicateEventIdError,
        `${what}: a DuplicateEventIdError, got ${String(error)}`,
      );
    }
    checkEqual((await store.readAll()).length, 1, "nothing more written");
  });

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

  test("returned events do not alias stored ones, nor does the input", async (store) => {
    const input = {
      type: "A",
      data: { list: [1, 2], nested: { n: 1 } },
      metadata: { tag: "x" },
    };
    const result = await store.appendToStream("s", [input]);
    input.data.list.push(3);
    input.data.nested.n = 99;
    input.metadata.tag = "changed";
    (result.events[0].data as { list: number[] }).list.push(4);
    const [read] = await store.readStream("s");
    checkEqual(read.data, { list: [1, 2], nested: { n: 1 } }, "data after mutations");
    checkEqual(read.metadata, { tag: "x" }, "metadata after mutations");
    (read.data as { list: number[] }).list.length = 0;
    (read.metadata as { tag: string }).tag = "mutated";
    const [again] = await store.readAll<TestEvent>();
    checkEqual(again.data, { list: [1, 2], nested: { n: 1 } }, "data read again");
    checkEqual(again.metadata, { tag: "x" }, "metadata read again");
  });

  test("a closed store refuses further calls", async (store) => {
    await appendOne(store, "s");
    await store.close();
    const error = await checkRejects(store.readStream("s"), "readStream after close");
    check(
      error instanceof StoreClosedError,
      `a StoreClosedError, got ${String(error)}`,
    );
  });

  eventStoreDataCases(test, writers);

  return cases;
}
