/**
 * Event-store cases: follow(), a durable Subscription and upcasting on the store.
 *
 * @module
 */

import type { RecordedEvent } from "../../event.ts";
import { Subscription } from "../../read_side/subscription.ts";
import { follow } from "../../read_side/follow.ts";
import { UpcastError, withUpcasting } from "../../upcasting.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import { InMemoryCheckpoints } from "../_cases.ts";
import { appendOne, type CaseOptions, checkOrdered, type Test } from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function followerCases(test: Test, _options: CaseOptions): void {
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
}
