// The retried-append matcher every store uses (store kit): an append whose
// event ids are all stored as it would write them is a retry, none stored is
// new, anything in between is refused.
import assert from "node:assert/strict";
import { DuplicateEventIdError, type RecordedEvent } from "@verdict/verdict";
import { retriedAppend } from "@verdict/verdict/store-kit";

const at = (
  id: string,
  streamId: string,
  version: number,
  type = "A",
): RecordedEvent => ({
  id,
  type,
  data: null,
  metadata: {},
  streamId,
  version,
  position: version,
  timestamp: new Date(0),
});
const lookup = (...events: RecordedEvent[]) => {
  const byId = new Map(events.map((event) => [event.id, event]));
  return (id: string) => byId.get(id);
};
const append = (streamId: string, ...ids: string[]) => ({
  streamId,
  events: ids.map((id) => ({ id, type: "A", data: null })),
});

Deno.test("retriedAppend", async (t) => {
  await t.step("none of the ids stored: a new append", () => {
    assert.equal(retriedAppend([append("s", "e1", "e2")], lookup()), undefined);
  });

  await t.step("ids without a value are never a retry", () => {
    const events = [{ type: "A", data: null }];
    assert.equal(retriedAppend([{ streamId: "s", events }], lookup()), undefined);
  });

  await t.step("every id stored as written: the first result again", () => {
    const stored = lookup(at("e1", "s", 4), at("e2", "s", 5), at("f1", "t", 1));
    const results = retriedAppend([append("s", "e1", "e2"), append("t", "f1")], stored)!;
    assert.deepEqual(
      results.map((r) => [r.streamId, r.nextExpectedVersion, r.events.map((e) => e.id)]),
      [["s", 5, ["e1", "e2"]], ["t", 1, ["f1"]]],
    );
  });

  await t.step(
    "a stream given no events answers version 0, as in the first result",
    () => {
      const results = retriedAppend(
        [append("s", "e1"), append("empty")],
        lookup(at("e1", "s", 1)),
      )!;
      assert.deepEqual(results[1], {
        streamId: "empty",
        nextExpectedVersion: 0,
        events: [],
      });
    },
  );

  const refused: [string, Parameters<typeof retriedAppend>][] = [
    ["some ids stored, some not", [[append("s", "e1", "e2")], lookup(at("e1", "s", 1))]],
    ["an id stored on another stream", [
      [append("s", "e1")],
      lookup(at("e1", "other", 1)),
    ]],
    ["an id stored as another type", [
      [append("s", "e1")],
      lookup(at("e1", "s", 1, "B")),
    ]],
    [
      "ids stored at versions that are not consecutive",
      [[append("s", "e1", "e2")], lookup(at("e1", "s", 1), at("e2", "s", 3))],
    ],
  ];
  for (const [name, [appends, stored]] of refused) {
    await t.step(`${name}: DuplicateEventIdError naming the first stored id`, () => {
      assert.throws(
        () => retriedAppend(appends, stored),
        (error) => error instanceof DuplicateEventIdError && /e1/.test(error.message),
      );
    });
  }
});
