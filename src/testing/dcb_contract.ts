/**
 * The Dynamic Consistency Boundary contract suite: event tags, queries by
 * type and tag, and conditional appends, for stores that have `readQuery`.
 *
 * @module
 */

import { AppendConditionError, ConcurrencyError, InvalidIdError } from "../errors.ts";
import type { AppendCondition, EventQuery } from "../event_query.ts";
import type { EventStore, WrittenEvents } from "../event_store.ts";
import type { NewEvent } from "../event.ts";
import type { CommandRecord } from "../command_log.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import type { ContractCase } from "./contract.ts";
import { caseList } from "./_cases.ts";
import type { EventStoreFactory } from "./event_store_contract.ts";
import { sampleCommandRecord } from "./command_log_contract.ts";

/**
 * Options of {@linkcode dcbContract}.
 *
 * @example
 * ```ts
 * import type { DcbContractOptions } from "@verdict/verdict/testing";
 *
 * const options: DcbContractOptions = { rounds: 5 };
 * ```
 */
export interface DcbContractOptions {
  /** A store whose `commandLog` commits with its appends, for the audit case. */
  readonly withLog?: EventStoreFactory;
  /** Rounds of the racing case (default 20). */
  readonly rounds?: number;
}

/** A store that keeps tags: `readQuery` is there. */
type QueryStore = EventStore & Required<Pick<EventStore, "readQuery">>;

function queryable(store: EventStore): QueryStore {
  check(
    typeof store.readQuery === "function",
    "the store has readQuery (the DCB suite is for stores that keep tags)",
  );
  return store as QueryStore;
}

/** A promise each of `n` callers awaits; it resolves once all `n` have come. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => release = resolve);
  return () => {
    if (++arrived === n) release();
    return all;
  };
}

/** Whether the append failed its condition (and only that). */
async function appendedOrRefused(append: Promise<unknown>): Promise<boolean> {
  try {
    await append;
    return true;
  } catch (error) {
    if (error instanceof AppendConditionError) return false;
    throw error;
  }
}

/**
 * `rounds` rounds of 16 racers: each reads the round's query behind a
 * barrier and, if nothing matched (the rule: claim only what nobody has
 * claimed), appends its claim on the read's condition. One wins a round.
 */
async function race(
  store: QueryStore,
  rounds: number,
  roundOf: (round: number) => { query: EventQuery; claim: (racer: number) => NewEvent },
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const { query, claim } = roundOf(round);
    const ready = barrier(16);
    const won = await Promise.all(
      Array.from({ length: 16 }, async (_, racer) => {
        await ready();
        const { events, head } = await store.readQuery(query);
        if (events.length > 0) return false;
        return await appendedOrRefused(
          store.appendToStream(`racer-${racer}`, [claim(racer)], {
            condition: { failIfEventsMatch: query, after: head },
          }),
        );
      }),
    );
    checkEqual(won.filter(Boolean).length, 1, `winners in round ${round}`);
    checkEqual(
      (await store.readQuery(query)).events.length,
      1,
      `claims in round ${round}`,
    );
  }
}

/**
 * The cases every store with `readQuery` must pass.
 *
 * @example
 * ```ts
 * import { dcbContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(dcbContract(() => new MemoryEventStore(), { rounds: 2 }));
 * assert.ok(results.every((r) => r.passed));
 * ```
 */
export function dcbContract(
  factory: EventStoreFactory,
  options: DcbContractOptions = {},
): ContractCase[] {
  const { cases, test } = caseList(factory);
  const rounds = options.rounds ?? 20;

  test("tags are kept; a query selects by type, by all of an item's tags, by any item", async (given) => {
    const store = queryable(given);
    await store.appendToStream("course-c1", [
      { type: "CourseDefined", data: { capacity: 2 }, tags: ["course:c1"] },
    ]);
    await store.appendToStream("course-c2", [
      { type: "CourseDefined", data: { capacity: 5 }, tags: ["course:c2"] },
    ]);
    await store.appendToStreams([
      {
        streamId: "student-s1",
        events: [{
          type: "StudentSubscribed",
          data: { course: "c1" },
          tags: ["course:c1", "student:s1"],
        }],
      },
      {
        streamId: "student-s2",
        events: [{ type: "StudentRegistered", data: {}, tags: ["student:s2"] }],
      },
    ]);
    await store.appendToStream("untagged", [{ type: "Noted", data: {} }]);
    const types = async (query: EventQuery) =>
      (await store.readQuery(query)).events.map((event) => event.type);

    const [first] = await store.readStream("course-c1");
    checkEqual(first.tags, ["course:c1"], "tags read back");
    const [untagged] = await store.readStream("untagged");
    checkEqual(untagged.tags ?? [], [], "an event without tags");
    checkEqual(
      await types([{ tags: ["course:c1"] }]),
      ["CourseDefined", "StudentSubscribed"],
      "by tag, in global order",
    );
    checkEqual(
      await types([{ tags: ["course:c1", "student:s1"] }]),
      ["StudentSubscribed"],
      "an item needs all its tags",
    );
    checkEqual(
      await types([{ types: ["CourseDefined"] }]),
      ["CourseDefined", "CourseDefined"],
      "by type",
    );
    checkEqual(
      await types([{ types: ["CourseDefined"], tags: ["course:c2"] }, {
        tags: ["student:s2"],
      }]),
      ["CourseDefined", "StudentRegistered"],
      "any item",
    );
    checkEqual((await store.readQuery([{ tags: ["nobody"] }])).events, [], "no match");
    const all = await store.readQuery("all");
    checkEqual(all.events.length, 5, '"all" reads every event');
    check(
      all.head >= all.events[4].position,
      `the head (${all.head}) is at or past the last event (${all.events[4].position})`,
    );
  });

  test("readQuery after an earlier head reads only what matched since", async (given) => {
    const store = queryable(given);
    const query: EventQuery = [{ tags: ["course:c1"] }];
    await store.appendToStream("c1", [{
      type: "A",
      data: { n: 1 },
      tags: ["course:c1"],
    }]);
    const first = await store.readQuery(query);
    checkEqual(first.events.length, 1, "the first read");
    const nothingNew = await store.readQuery(query, { after: first.head });
    checkEqual(nothingNew.events, [], "nothing new yet");
    check(nothingNew.head >= first.head, "the head does not go back");
    await store.appendToStream("other", [{ type: "B", data: {}, tags: ["course:c2"] }]);
    await store.appendToStream("c1", [{
      type: "C",
      data: { n: 2 },
      tags: ["course:c1"],
    }]);
    const newer = await store.readQuery(query, { after: first.head });
    checkEqual(newer.events.map((e) => e.type), ["C"], "only the newer match");
    const all = await store.readQuery(query);
    check(all.head >= newer.head, "a later read's head does not go back");
    checkEqual(all.events.map((e) => e.type), ["A", "C"], "a full read");
    await checkRejects(store.readQuery(query, { after: -1 }), "a negative after");
  });

  test("bad queries, tags and conditions are refused, and write nothing", async (given) => {
    const store = queryable(given);
    for (const query of [[], [{}], [{ types: [] }], "some"] as unknown as EventQuery[]) {
      await checkRejects(store.readQuery(query), `readQuery(${JSON.stringify(query)})`);
    }
    const tagError = await checkRejects(
      store.appendToStream("s", [{ type: "A", data: {}, tags: [""] }]),
      "an empty tag",
    );
    check(
      tagError instanceof InvalidIdError,
      `an InvalidIdError, got ${String(tagError)}`,
    );
    await checkRejects(
      store.appendToStream("s", [{
        type: "A",
        data: {},
        tags: "t" as unknown as string[],
      }]),
      "tags that are no list",
    );
    for (
      const condition of [
        { failIfEventsMatch: [], after: 0 },
        { failIfEventsMatch: "all", after: -1 },
        { failIfEventsMatch: "all" },
      ] as unknown as AppendCondition[]
    ) {
      await checkRejects(
        store.appendToStream("s", [{ type: "A", data: {} }], { condition }),
        `condition ${JSON.stringify(condition)}`,
      );
    }
    checkEqual(await store.streamVersion("s"), 0, "nothing written");
  });

  test("a condition holds until a matching event comes after its head; then nothing is written", async (given) => {
    const store = queryable(given);
    const query: EventQuery = [{ types: ["UsernameClaimed"], tags: ["username:ada"] }];
    const read = await store.readQuery(query);
    checkEqual(read.events, [], "nothing claimed yet");
    // Events that do not match the query do not stop it.
    await store.appendToStream("other", [
      { type: "UsernameClaimed", data: {}, tags: ["username:grace"] },
      { type: "Renamed", data: {}, tags: ["username:ada"] },
    ]);
    const condition = { failIfEventsMatch: query, after: read.head };
    await store.appendToStream("user-1", [
      { type: "UsernameClaimed", data: {}, tags: ["username:ada"] },
    ], { condition });
    // The same decision again, on the same head: the first claim matches now.
    const error = await checkRejects(
      store.appendToStream("user-2", [
        { type: "UsernameClaimed", data: {}, tags: ["username:ada"] },
      ], { condition }),
      "a second claim on the old head",
    );
    check(
      error instanceof AppendConditionError,
      `an AppendConditionError, got ${String(error)}`,
    );
    const [claim] = await store.readStream("user-1");
    checkEqual((error as AppendConditionError).position, claim.position, "its position");
    checkEqual(
      await store.streamVersion("user-2"),
      0,
      "the refused append wrote nothing",
    );
    // Decided again on a fresh read, the rule refuses it: no second claim.
    checkEqual((await store.readQuery(query)).events.length, 1, "one claim");
  });

  test("a condition broader than the appended events' tags fails on any of its matches", async (given) => {
    const store = queryable(given);
    // The rule reads the whole course; the new event names course and student.
    const course: EventQuery = [{ tags: ["course:c1"] }];
    const read = await store.readQuery(course);
    await store.appendToStream("course-c1", [
      { type: "CourseCapacityChanged", data: { capacity: 1 }, tags: ["course:c1"] },
    ]);
    const error = await checkRejects(
      store.appendToStream("student-s1", [{
        type: "StudentSubscribed",
        data: {},
        tags: ["course:c1", "student:s1"],
      }], { condition: { failIfEventsMatch: course, after: read.head } }),
      "a subscription decided before the capacity changed",
    );
    check(error instanceof AppendConditionError, `an AppendConditionError, got ${error}`);
  });

  test("a conditional append sent again with the same ids answers with its first result", async (given) => {
    const store = queryable(given);
    const query: EventQuery = [{ tags: ["seat:9"] }];
    const { head } = await store.readQuery(query);
    const send = () =>
      store.appendToStream("booking", [
        { id: "booking-evt-1", type: "SeatBooked", data: {}, tags: ["seat:9"] },
      ], { condition: { failIfEventsMatch: query, after: head } });
    const first = await send();
    // The event it wrote matches its own condition now: a resend must still
    // be recognised as the same append, not refused.
    const again = await send();
    checkEqual(
      again.events.map((e) => e.position),
      first.events.map((e) => e.position),
      "positions",
    );
    checkEqual(again.nextExpectedVersion, first.nextExpectedVersion, "version");
    checkEqual((await store.readQuery(query)).events.length, 1, "written once");
  });

  test("a condition and expected versions are both checked, in one append", async (given) => {
    const store = queryable(given);
    await store.appendToStream("s", [{ type: "A", data: {}, tags: ["t"] }]);
    const { head } = await store.readQuery([{ tags: ["t"] }]);
    const condition = { failIfEventsMatch: [{ tags: ["t"] }], after: head };
    const error = await checkRejects(
      store.appendToStreams([
        { streamId: "s", events: [{ type: "B", data: {} }], expectedVersion: 0 },
        { streamId: "other", events: [{ type: "C", data: {}, tags: ["t"] }] },
      ], { condition }),
      "a holding condition with a wrong expected version",
    );
    check(error instanceof ConcurrencyError, `a ConcurrencyError, got ${String(error)}`);
    checkEqual(await store.streamVersion("other"), 0, "nothing written");
    await store.appendToStreams([
      { streamId: "s", events: [{ type: "B", data: {} }], expectedVersion: 1 },
      { streamId: "other", events: [{ type: "C", data: {}, tags: ["t"] }] },
    ], { condition });
    checkEqual(await store.streamVersion("other"), 1, "both hold: written");
  });

  test(`16 racers read behind a barrier, then claim on their read's condition: one wins, ${rounds} rounds out of ${rounds}`, async (given) => {
    await race(queryable(given), rounds, (round) => ({
      query: [{ types: ["Claimed"], tags: [`round:${round}`] }],
      claim: () => ({ type: "Claimed", data: { round }, tags: [`round:${round}`] }),
    }));
  });

  test('a condition on types alone, or on "all", fails on a match after its head, tagged or not', async (given) => {
    const store = queryable(given);
    const closed: EventQuery = [{ types: ["Closed"] }];
    const { head } = await store.readQuery(closed);
    // Events of other types, tagged or not, do not stop it.
    await store.appendToStream("other", [
      { type: "Opened", data: {}, tags: ["door:1"] },
      { type: "Noted", data: {} },
    ]);
    const all = await store.readQuery("all");
    const [first] =
      (await store.appendToStream("door-1", [{ type: "Closed", data: {} }], {
        condition: { failIfEventsMatch: closed, after: head },
      })).events;
    // A tagged event of the type matches an item without tags.
    const error = await checkRejects(
      store.appendToStream("door-2", [{ type: "Closed", data: {}, tags: ["door:2"] }], {
        condition: { failIfEventsMatch: closed, after: head },
      }),
      "a second Closed on the old head",
    );
    check(error instanceof AppendConditionError, `an AppendConditionError, got ${error}`);
    checkEqual((error as AppendConditionError).position, first.position, "its position");
    const allError = await checkRejects(
      store.appendToStream("door-3", [{ type: "Noted", data: {} }], {
        condition: { failIfEventsMatch: "all", after: all.head },
      }),
      '"all" after an append',
    );
    check(
      allError instanceof AppendConditionError,
      `an AppendConditionError, got ${allError}`,
    );
    checkEqual(
      (allError as AppendConditionError).position,
      first.position,
      '"all"\'s match',
    );
    checkEqual(
      await store.streamVersion("door-2"),
      0,
      "the refused appends wrote nothing",
    );
    checkEqual(
      await store.streamVersion("door-3"),
      0,
      "the refused appends wrote nothing",
    );
    const now = await store.readQuery("all");
    await store.appendToStream("door-3", [{ type: "Noted", data: {} }], {
      condition: { failIfEventsMatch: "all", after: now.head },
    });
    checkEqual(await store.streamVersion("door-3"), 1, '"all" on the latest head holds');
  });

  test(`16 racers claim on a query of types alone, tagged and untagged: one wins, ${rounds} rounds out of ${rounds}`, async (given) => {
    await race(queryable(given), rounds, (round) => {
      const type = `Round${round}Claimed`;
      return {
        query: [{ tags: [`elsewhere:${round}`] }, { types: [type] }],
        // Half the racers tag their claim: the item matches it anyway.
        claim: (racer) =>
          racer % 2 === 0
            ? { type, data: { round } }
            : { type, data: { round }, tags: [`racer:${racer}`] },
      };
    });
  });

  test("8 writers with disjoint queries never refuse each other", async (given) => {
    const store = queryable(given);
    const refused = await Promise.all(
      Array.from({ length: 8 }, async (_, writer) => {
        const query: EventQuery = [{ tags: [`writer:${writer}`] }];
        let refusals = 0;
        for (let i = 0; i < 10; i++) {
          const { head } = await store.readQuery(query);
          const ok = await appendedOrRefused(
            store.appendToStream(`w-${writer}`, [
              { type: "Wrote", data: { i }, tags: [`writer:${writer}`] },
            ], { condition: { failIfEventsMatch: query, after: head } }),
          );
          if (!ok) refusals++;
        }
        return refusals;
      }),
    );
    checkEqual(refused, Array(8).fill(0), "refusals per writer");
    checkEqual((await store.readQuery("all")).events.length, 80, "every append landed");
  });

  test("8 conditional writers while a reader follows: every event once, in order", async (given) => {
    const store = queryable(given);
    const total = 8 * 25;
    const seen: { id: string; position: number; writer: number; i: number }[] = [];
    let after = 0;
    let stopped = false;
    const follow = (async () => {
      while (seen.length < total && !stopped) {
        const events = await store.readAll<
          { type: "Wrote"; data: { writer: number; i: number } }
        >({ after, limit: 50 });
        for (const event of events) {
          seen.push({ id: event.id, position: event.position, ...event.data });
          after = event.position;
        }
        if (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    try {
      await Promise.all(
        Array.from({ length: 8 }, async (_, writer) => {
          const query: EventQuery = [{ tags: [`writer:${writer}`] }];
          for (let i = 0; i < 25; i++) {
            const { head } = await store.readQuery(query);
            await store.appendToStream(`w-${writer}`, [
              { type: "Wrote", data: { writer, i }, tags: [`writer:${writer}`] },
            ], { condition: { failIfEventsMatch: query, after: head } });
          }
        }),
      );
    } catch (error) {
      // The follower stops too, before the store closes under it.
      stopped = true;
      await follow.catch(() => {});
      throw error;
    }
    await follow;
    checkEqual(new Set(seen.map((e) => e.id)).size, total, "each event once");
    for (let k = 1; k < seen.length; k++) {
      check(seen[k].position > seen[k - 1].position, "positions only go up");
    }
    for (let writer = 0; writer < 8; writer++) {
      checkEqual(
        seen.filter((e) => e.writer === writer).map((e) => e.i),
        Array.from({ length: 25 }, (_, i) => i),
        `writer ${writer}'s events in its order`,
      );
    }
  });

  const withLog = options.withLog;
  if (withLog) {
    const logged = caseList(withLog);
    logged.test("a refused condition writes no command record; a holding one writes both", async (given) => {
      const store = queryable(given);
      const log = store.commandLog!;
      const query: EventQuery = [{ tags: ["seat:1"] }];
      const { head } = await store.readQuery(query);
      const record = (id: string) => (written: WrittenEvents): CommandRecord => ({
        ...sampleCommandRecord({ id, status: "accepted" }),
        eventIds: [...written.eventIds],
        streamIds: [...written.streamIds],
      });
      await store.appendToStream("booking-1", [
        { type: "SeatBooked", data: {}, tags: ["seat:1"] },
      ], {
        condition: { failIfEventsMatch: query, after: head },
        commandRecord: record("cmd-1"),
      });
      const error = await checkRejects(
        store.appendToStream("booking-2", [
          { type: "SeatBooked", data: {}, tags: ["seat:1"] },
        ], {
          condition: { failIfEventsMatch: query, after: head },
          commandRecord: record("cmd-2"),
        }),
        "a second booking on the old head",
      );
      check(
        error instanceof AppendConditionError,
        `an AppendConditionError, got ${error}`,
      );
      checkEqual((await log.get("cmd-1"))?.status, "accepted", "the first record");
      checkEqual(await log.get("cmd-2"), undefined, "no record for the refused append");
      checkEqual(await store.streamVersion("booking-2"), 0, "no event either");
    });
    cases.push(...logged.cases);
  }
  return cases;
}
