/**
 * The event-store contract on data: what every store accepts, refuses and
 * keeps, and what a refused append leaves behind (nothing). Part of
 * `eventStoreContract`.
 *
 * @module
 */

import {
  ConcurrencyError,
  DuplicateEventIdError,
  InvalidIdError,
  MAX_ID_BYTES,
  UnstorableDataError,
} from "../../errors.ts";
import { uuidv7 } from "../../uuid.ts";
import { check, checkEqual, checkRejects } from "../assert.ts";
import { sampleCommandRecord } from "../command_log_contract.ts";
import type { Test } from "./_shared.ts";

/** Registers the data cases on an event-store case list. */
export function eventStoreDataCases(test: Test, writers: number): void {
  test("data model: values JSON cannot carry are refused with UnstorableDataError naming stream, event and path; nothing is written", async (store) => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    class Money {
      constructor(readonly amount: number) {}
    }
    const refused: [string, unknown, (string | number)[]][] = [
      ["a Map", { m: new Map([["a", 1]]) }, ["data", "m"]],
      ["a Set", { s: new Set([1]) }, ["data", "s"]],
      ["a Date", { at: new Date(0) }, ["data", "at"]],
      ["a BigInt", { n: 10n }, ["data", "n"]],
      ["a function", { f: () => 1 }, ["data", "f"]],
      ["a symbol", { s: Symbol("x") }, ["data", "s"]],
      ["NaN", { list: [1, NaN] }, ["data", "list", 1]],
      ["Infinity", { n: Infinity }, ["data", "n"]],
      ["a cycle", { deep: cyclic }, ["data", "deep", "self"]],
      ["a class instance", { price: new Money(5) }, ["data", "price"]],
      ["undefined in an array", { list: [undefined] }, ["data", "list", 0]],
      ["undefined as data", undefined, ["data"]],
      ["bytes", { b: new Uint8Array(2) }, ["data", "b"]],
      ["a lone surrogate", { text: "a\uD800b" }, ["data", "text"]],
      ["a NUL character", { text: "a\u0000b" }, ["data", "text"]],
      ["a key with a NUL", { ["k\u0000"]: 1 }, ["data", "k\u0000"]],
    ];
    await store.appendToStream("other", [{ type: "Fine", data: {} }]);
    for (const [what, data, path] of refused) {
      const error = await checkRejects(
        store.appendToStream("s", [
          { type: "Fine", data: { ok: true } },
          { type: "Bad", data },
        ]),
        what,
      );
      check(
        error instanceof UnstorableDataError,
        `${what}: an UnstorableDataError, got ${String(error)}`,
      );
      checkEqual(
        { streamId: error.streamId, eventIndex: error.eventIndex, path: error.path },
        { streamId: "s", eventIndex: 1, path },
        `${what}: where the error points`,
      );
    }
    for (
      const [what, metadata, path] of [
        ["an array as metadata", ["a"], ["metadata"]],
        ["a string as metadata", "m", ["metadata"]],
        ["a Date in metadata", { at: new Date(0) }, ["metadata", "at"]],
        ["a NUL in metadata", { userId: "a\u0000" }, ["metadata", "userId"]],
      ] as [string, unknown, string[]][]
    ) {
      const error = await checkRejects(
        store.appendToStream("s", [{ type: "A", data: {}, metadata } as never]),
        what,
      );
      check(
        error instanceof UnstorableDataError,
        `${what}: an UnstorableDataError, got ${String(error)}`,
      );
      checkEqual(error.path, path, `${what}: the path`);
    }
    checkEqual(await store.streamVersion("s"), 0, "the stream was never written");
    checkEqual((await store.readAll()).length, 1, "only the other stream's event");
  });

  test("data model: a property holding undefined is left out on every store, as JSON does", async (store) => {
    const data = {
      kept: 1,
      gone: undefined,
      nested: { also: undefined, list: [1, { x: undefined }] },
    };
    const metadata = { userId: "ada", note: undefined };
    const result = await store.appendToStream("s", [{ type: "A", data, metadata }]);
    const expected = { kept: 1, nested: { list: [1, {}] } };
    checkEqual(result.events[0].data, expected, "data returned by the append");
    const [read] = await store.readStream("s");
    checkEqual(read.data, expected, "data via readStream");
    checkEqual(read.metadata, { userId: "ada" }, "metadata via readStream");
    checkEqual((await store.readAll())[0].data, expected, "data via readAll");
    check(!("gone" in (read.data as object)), "the undefined field is not a key");
  });

  test("a refused multi-stream append writes nothing: unstorable data in a later stream leaves the earlier ones and the command log untouched", async (store) => {
    const cyclic: Record<string, unknown> = {};
    cyclic.again = cyclic;
    class Wrapper {
      readonly callback = () => "not data";
    }
    for (
      const [what, data] of [["cyclic data", cyclic], [
        "a class with a function",
        new Wrapper(),
      ]] as const
    ) {
      const record = sampleCommandRecord();
      const error = await checkRejects(
        store.appendToStreams(
          [
            { streamId: "first", events: [{ type: "Debited", data: { amount: 5 } }] },
            { streamId: "second", events: [{ type: "Credited", data }] },
          ],
          store.commandLog
            ? { commandRecord: (written) => ({ ...record, ...written }) }
            : {},
        ),
        what,
      );
      check(
        error instanceof UnstorableDataError,
        `${what}: an UnstorableDataError, got ${String(error)}`,
      );
      checkEqual(error.streamId, "second", `${what}: the stream named`);
      checkEqual(
        await store.streamVersion("first"),
        0,
        `${what}: first stream untouched`,
      );
      checkEqual(await store.readAll(), [], `${what}: no event anywhere`);
      if (store.commandLog) {
        checkEqual(
          await store.commandLog.get(record.id),
          undefined,
          `${what}: no command record`,
        );
      }
    }
  });

  test(`ids: lone surrogates, NUL and ids over ${MAX_ID_BYTES} bytes are refused with InvalidIdError; "s-\\uD800", "s-\\uDC00" and "s-\\uFFFD" never meet`, async (store) => {
    const longest = "é".repeat(MAX_ID_BYTES / 2);
    await store.appendToStream("s-\uFFFD", [{ type: "A", data: { n: 1 } }]);
    await store.appendToStream(longest, [{ type: "A", data: {} }], {
      expectedVersion: "no_stream",
    });
    checkEqual(await store.streamVersion(longest), 1, `a ${MAX_ID_BYTES}-byte id works`);
    const badIds: [string, string][] = [
      ["a lone high surrogate", "s-\uD800"],
      ["a lone low surrogate", "s-\uDC00"],
      ["a NUL", "s-\u0000"],
      ["one byte too many", longest + "x"],
      ["empty", ""],
    ];
    for (const [what, id] of badIds) {
      for (
        const [call, attempt] of [
          ["appendToStream", () => store.appendToStream(id, [{ type: "A", data: {} }])],
          [
            "appendToStreams",
            () =>
              store.appendToStreams([{
                streamId: id,
                events: [{ type: "A", data: {} }],
              }]),
          ],
          ["readStream", () => store.readStream(id)],
          ["streamVersion", () => store.streamVersion(id)],
          ["an event id", () => store.appendToStream("s", [{ id, type: "A", data: {} }])],
          ["an event type", () => store.appendToStream("s", [{ type: id, data: {} }])],
        ] as [string, () => Promise<unknown>][]
      ) {
        const error = await checkRejects(attempt(), `${call} with ${what}`);
        check(
          error instanceof InvalidIdError,
          `${call} with ${what}: an InvalidIdError, got ${String(error)}`,
        );
      }
    }
    const events = await store.readStream("s-\uFFFD");
    checkEqual(
      events.map((e) => e.data),
      [{ n: 1 }],
      "s-\\uFFFD holds its own event only",
    );
    checkEqual(events[0].streamId, "s-\uFFFD", "the stream id read back");
    checkEqual((await store.readAll()).length, 2, "nothing else written");
  });

  test("one event id in two streams of one append is refused with DuplicateEventIdError; nothing is written", async (store) => {
    const id = uuidv7();
    for (
      const attempt of [
        () =>
          store.appendToStreams([
            { streamId: "a", events: [{ id, type: "A", data: {} }] },
            { streamId: "b", events: [{ id, type: "B", data: {} }] },
          ]),
        () =>
          store.appendToStream("a", [
            { id, type: "A", data: {} },
            { id, type: "A", data: {} },
          ]),
      ]
    ) {
      const error = await checkRejects(attempt(), "an id given twice");
      check(
        error instanceof DuplicateEventIdError,
        `a DuplicateEventIdError, got ${String(error)}`,
      );
      checkEqual(error.eventId, id, "the id named");
    }
    checkEqual(await store.readAll(), [], "nothing written");
    const result = await store.appendToStreams([
      { streamId: "a", events: [{ id, type: "A", data: {} }] },
    ]);
    checkEqual(result[0].events[0].id, id, "the id is still free");
  });

  test("an aborted signal stops appends and reads with its reason; nothing is written", async (store) => {
    const controller = new AbortController();
    const reason = new Error("the caller gave up");
    controller.abort(reason);
    const signal = controller.signal;
    for (
      const [what, attempt] of [
        [
          "appendToStream",
          () => store.appendToStream("s", [{ type: "A", data: {} }], { signal }),
        ],
        [
          "appendToStreams",
          () =>
            store.appendToStreams(
              [{ streamId: "s", events: [{ type: "A", data: {} }] }],
              {
                signal,
              },
            ),
        ],
        ["readStream", () => store.readStream("s", { signal })],
        ["readAll", () => store.readAll({ signal })],
      ] as [string, () => Promise<unknown>][]
    ) {
      const error = await checkRejects(attempt(), what);
      check(
        error === reason,
        `${what}: fails with the signal's reason, got ${String(error)}`,
      );
    }
    checkEqual(await store.streamVersion("s"), 0, "nothing written");
  });

  test(`race: read-only dependencies hold at commit: of ${writers} writers in pairs that each read the other's stream, exactly one per pair wins`, async (store) => {
    const pairs = Math.max(1, Math.floor(writers / 2));
    for (let round = 0; round < 5; round++) {
      const streams = Array.from({ length: pairs * 2 }, (_, i) => `dep-${round}-${i}`);
      for (const streamId of streams) {
        await store.appendToStream(streamId, [{ type: "Opened", data: {} }]);
      }
      // Writer 2p reads stream 2p+1 and writes 2p; writer 2p+1 the reverse.
      // Whichever commits first changes what the other read: the other must
      // fail, or the two commit on states that never existed together.
      const outcomes = await Promise.allSettled(
        streams.map((own, i) => {
          const partner = streams[i ^ 1];
          return store.appendToStreams([
            { streamId: partner, events: [], expectedVersion: 1 },
            {
              streamId: own,
              events: [{ type: "Changed", data: { i } }],
              expectedVersion: 1,
            },
          ]);
        }),
      );
      for (let p = 0; p < pairs; p++) {
        const pair = [outcomes[2 * p], outcomes[2 * p + 1]];
        const won = pair.filter((o) => o.status === "fulfilled").length;
        checkEqual(won, 1, `round ${round}, pair ${p}: winners`);
        for (const outcome of pair) {
          if (outcome.status === "rejected") {
            check(
              outcome.reason instanceof ConcurrencyError,
              `round ${round}, pair ${p}: the loser gets a ConcurrencyError, got ${
                String(outcome.reason)
              }`,
            );
          }
        }
      }
      const versions = await Promise.all(streams.map((s) => store.streamVersion(s)));
      checkEqual(
        versions.filter((v) => v === 2).length,
        pairs,
        `round ${round}: one changed stream per pair`,
      );
    }
  });
}
