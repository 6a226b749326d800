/**
 * Event-store cases: event ids: retried appends, generated ids, ids reused.
 *
 * @module
 */

import { DuplicateEventIdError } from "../../errors.ts";
import { uuidv7 } from "../../uuid.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import { appendOne, type CaseOptions, ev, type Test } from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function retryCases(test: Test, _options: CaseOptions): void {
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
}
