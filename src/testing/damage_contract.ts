/**
 * The damage contract: what a store does when its own storage was damaged
 * behind its back (a row edited by hand, a key deleted, a bad migration).
 * Each store's test suite supplies a {@linkcode DamageKit} that damages its
 * own storage; the cases check that reads refuse the damaged event with an
 * `EventDecodeError` naming it, instead of returning it silently wrong, and
 * that subscriptions apply their error policy to it.
 *
 * @module
 */

import { EventDecodeError } from "../errors.ts";
import type { RecordedEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import { type DeadLetter, Subscription } from "../read_side/subscription.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import { caseList, InMemoryCheckpoints } from "./_cases.ts";
import type { ContractCase } from "./contract.ts";

/**
 * A way one stored event can be damaged.
 *
 * @example
 * ```ts
 * import type { EventDamage } from "@verdict/verdict/testing";
 *
 * const damage: EventDamage = "metadata is an array";
 * ```
 */
export type EventDamage = "metadata is an array" | "type is empty" | "data is missing";

/**
 * How a store's test suite damages the store's own storage.
 *
 * @example A kit for a store kept in a plain map (a sketch)
 * ```ts
 * import type { DamageKit, EventDamage } from "@verdict/verdict/testing";
 * import type { EventStore } from "@verdict/verdict";
 *
 * const rows = new Map<string, Record<string, unknown>>();
 * const kit: DamageKit = {
 *   damage(_store: EventStore, streamId: string, version: number, damage: EventDamage) {
 *     const row = rows.get(`${streamId}@${version}`)!;
 *     if (damage === "type is empty") row.type = "";
 *     return Promise.resolve();
 *   },
 *   remove(_store: EventStore, streamId: string, version: number) {
 *     rows.delete(`${streamId}@${version}`);
 *     return Promise.resolve();
 *   },
 * };
 * ```
 */
export interface DamageKit<S extends EventStore = EventStore> {
  /** Damages the stored event `version` of `streamId` as `damage` says. */
  damage(store: S, streamId: string, version: number, damage: EventDamage): Promise<void>;
  /** Deletes the stored event `version` of `streamId`, leaving a gap in the stream. */
  remove(store: S, streamId: string, version: number): Promise<void>;
}

const DAMAGES: readonly EventDamage[] = [
  "metadata is an array",
  "type is empty",
  "data is missing",
];

/**
 * The cases a store must pass on damaged storage, run with its own
 * {@linkcode DamageKit}.
 *
 * @example Under `deno test`
 * ```ts ignore
 * import { eventStoreDamageContract } from "@verdict/verdict/testing";
 *
 * Deno.test("my store detects damage", async (t) => {
 *   for (const c of eventStoreDamageContract(() => openMyStore(), myDamageKit)) {
 *     await t.step(c.name, c.run);
 *   }
 * });
 * ```
 */
export function eventStoreDamageContract<S extends EventStore>(
  factory: () => S | Promise<S>,
  kit: DamageKit<S>,
): ContractCase[] {
  const { cases, test } = caseList(factory);

  for (const damage of DAMAGES) {
    test(`damage: an event whose ${damage} is refused by readStream() and readAll() with an EventDecodeError naming stream, version and position`, async (store) => {
      const written: RecordedEvent[] = [];
      for (let i = 1; i <= 3; i++) {
        const result = await store.appendToStream("s", [
          { type: "Happened", data: { i }, metadata: { n: i } },
        ]);
        written.push(...result.events);
      }
      await store.appendToStream("other", [{ type: "Fine", data: {} }]);
      await kit.damage(store, "s", 2, damage);
      for (
        const [read, attempt] of [
          ["readStream", () => store.readStream("s")],
          ["readStream backward", () => store.readStream("s", { direction: "backward" })],
          ["readAll", () => store.readAll()],
        ] as const
      ) {
        const error = await checkRejects(attempt(), `${read} over the damaged event`);
        check(
          error instanceof EventDecodeError,
          `${read}: an EventDecodeError, got ${String(error)}`,
        );
        checkEqual(
          { streamId: error.streamId, version: error.version },
          { streamId: "s", version: 2 },
          `${read}: the event named`,
        );
        // readAll knows each event's position from the global order; a
        // stream read may only see what the damaged storage says (KV, whose
        // positions come from the write, sees the damaging write's).
        if (read === "readAll") {
          checkEqual(error.position, written[1].position, `${read}: the position named`);
        }
      }
      checkEqual(
        (await store.readStream("other")).map((e) => e.type),
        ["Fine"],
        "other streams read as before",
      );
      checkEqual(
        (await store.readAll({ after: written[1].position })).length,
        2,
        "readAll after the damaged event",
      );
    });
  }

  test("damage: a missing event (a gap in the stream's versions) is refused by readStream() with an EventDecodeError naming the missing version", async (store) => {
    for (let i = 1; i <= 4; i++) {
      await store.appendToStream("s", [{ type: "Happened", data: { i } }]);
    }
    await kit.remove(store, "s", 2);
    for (
      const [read, attempt] of [
        ["forward", () => store.readStream("s")],
        ["backward", () => store.readStream("s", { direction: "backward" })],
        ["from the gap", () => store.readStream("s", { from: 2 })],
      ] as const
    ) {
      const error = await checkRejects(attempt(), `a ${read} read over the gap`);
      check(
        error instanceof EventDecodeError,
        `${read}: an EventDecodeError, got ${String(error)}`,
      );
      checkEqual(
        { streamId: error.streamId, version: error.version },
        { streamId: "s", version: 2 },
        `${read}: the missing version named`,
      );
    }
    checkEqual(
      (await store.readStream("s", { from: 3 })).map((e) => e.version),
      [3, 4],
      "a read past the gap",
    );
  });

  test("damage: a subscription stops on a damaged event with its EventDecodeError, or skips it to a dead letter and delivers every other event once", async (store) => {
    const positions: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const result = await store.appendToStream("s", [{ type: "Happened", data: { i } }]);
      positions.push(result.events[0].position);
    }
    await kit.damage(store, "s", 3, "type is empty");

    const stopping = new Subscription({
      name: "stops",
      store,
      checkpoints: new InMemoryCheckpoints(),
      handle: () => {},
      pollIntervalMs: 5,
    }).start();
    const stopped = await checkRejects(
      stopping.waitUntilCaughtUp(),
      "the stopping policy",
    );
    check(
      stopped instanceof EventDecodeError,
      `the subscription fails with an EventDecodeError, got ${String(stopped)}`,
    );
    checkEqual(stopping.status, "failed", "status under the stop policy");
    await stopping.stop();

    const handled: number[] = [];
    const letters: DeadLetter[] = [];
    const checkpoints = new InMemoryCheckpoints();
    const skipping = new Subscription({
      name: "skips",
      store,
      checkpoints,
      handle: (event) => void handled.push(event.position),
      onError: { then: "skip", deadLetter: (letter) => void letters.push(letter) },
      pollIntervalMs: 5,
    }).start();
    await skipping.waitUntilCaughtUp();
    await store.appendToStream("s", [{ type: "Later", data: {} }]);
    const later = (await store.readStream("s", { from: 5 }))[0].position;
    while (!handled.includes(later) && skipping.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await skipping.stop();
    checkEqual(
      handled,
      [positions[0], positions[1], positions[3], later],
      "every good event, once, in order",
    );
    checkEqual(letters.length, 1, "one dead letter");
    checkEqual(letters[0].position, positions[2], "the dead letter's position");
    checkEqual(letters[0].event, undefined, "no event for a damaged one");
    check(letters[0].error instanceof EventDecodeError, "the dead letter's error");
    checkEqual(await checkpoints.load("skips"), later, "the checkpoint passed it");
  });

  return cases;
}
