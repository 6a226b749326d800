/**
 * Event-store cases: copies, not aliases, and a closed store.
 *
 * @module
 */

import { StoreClosedError } from "../../errors.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import { appendOne, type CaseOptions, type Test, type TestEvent } from "./_shared.ts";

/** Registers the cases on an event-store case list. */
export function lifecycleCases(test: Test, _options: CaseOptions): void {
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
    const at = read.timestamp.getTime();
    // A store may hand out copies (a change stays with the caller) or
    // frozen events (a change throws a TypeError); either way what it holds
    // stays as it was. Dates cannot be frozen: a store hands out a new one.
    mutate(() => (read.data as { list: number[] }).list.length = 0);
    mutate(() => (read.data as { nested: { n: number } }).nested.n = 7);
    mutate(() => (read.metadata as { tag: string }).tag = "mutated");
    mutate(() => (read as { type: string }).type = "B");
    mutate(() => read.timestamp.setTime(0));
    const [again] = await store.readAll<TestEvent>();
    checkEqual(again.type, "A", "type read again");
    checkEqual(again.data, { list: [1, 2], nested: { n: 1 } }, "data read again");
    checkEqual(again.metadata, { tag: "x" }, "metadata read again");
    checkEqual(again.timestamp.getTime(), at, "timestamp read again");
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
}

/** Runs a caller's change to a read event: it may throw only a TypeError. */
function mutate(change: () => unknown): void {
  try {
    change();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}
