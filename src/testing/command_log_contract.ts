/**
 * The command-log contract suite: what every `CommandLogStore` must do, as
 * plain async cases that take a log factory and import no test runner.
 *
 * @module
 */

import {
  CommandAlreadyRecordedError,
  type CommandLogStore,
  type CommandPage,
  type CommandQuery,
  type CommandRecord,
} from "../command_log.ts";
import { ALTERED_PARTS_KEY } from "../store_kit/command_records.ts";
import { uuidv7 } from "../uuid.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import type { ContractCase } from "./contract.ts";
import { caseList } from "./_cases.ts";

/**
 * Makes a new, empty command log for one case.
 *
 * @example
 * ```ts
 * import type { CommandLogFactory } from "@verdict/verdict/testing";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * const factory: CommandLogFactory = () => new MemoryCommandLog();
 * ```
 */
export type CommandLogFactory = () => CommandLogStore | Promise<CommandLogStore>;

/**
 * Options of {@linkcode commandLogContract}.
 *
 * @example
 * ```ts
 * import { commandLogContract, type CommandLogContractOptions } from "@verdict/verdict/testing";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * const options: CommandLogContractOptions = { maxPayloadBytes: 60_000 };
 * const cases = commandLogContract(() => new MemoryCommandLog(), options);
 * ```
 */
export interface CommandLogContractOptions {
  /**
   * The largest payload the log accepts, in bytes (default 1 MiB, which
   * every log without a documented lower limit must take). A log with a
   * lower limit must store a payload of that size and refuse a 1 MiB one,
   * writing nothing.
   */
  readonly maxPayloadBytes?: number;
}

const BASE_TIME = Date.UTC(2026, 0, 1);

/**
 * A valid command record with every field filled in, for tests of command
 * logs; `overrides` replace fields.
 *
 * @example
 * ```ts
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const record = sampleCommandRecord({ status: "rejected" });
 * assert.equal(record.status, "rejected");
 * assert.equal(record.eventIds.length, 0);
 * ```
 */
export function sampleCommandRecord(
  overrides: Partial<CommandRecord> = {},
): CommandRecord {
  const status = overrides.status ?? "accepted";
  return {
    id: uuidv7(),
    correlationId: "corr-default",
    type: "Deposit",
    payload: JSON.stringify({ type: "Deposit", data: { amount: 5 } }),
    payloadCodec: "json",
    metadata: { userId: "ada", tenantId: "t-1", ip: "127.0.0.1" },
    status,
    eventIds: status === "accepted" ? [uuidv7()] : [],
    streamIds: status === "accepted" ? ["account-1"] : [],
    durationMs: 1.25,
    timestamp: new Date(BASE_TIME),
    ...(status === "accepted"
      ? {}
      : { error: { name: "CommandRejectedError", message: "no", code: "rejected" } }),
    ...overrides,
  };
}

async function allPages(
  fetch: (query: CommandQuery) => Promise<CommandPage>,
  query: CommandQuery,
  between?: () => Promise<void>,
): Promise<CommandRecord[]> {
  const records: CommandRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await fetch({ ...query, cursor });
    records.push(...page.records);
    if (page.nextCursor === undefined) return records;
    check(page.records.length > 0, "a page with a next cursor has records");
    cursor = page.nextCursor;
    await between?.();
  }
  throw new Error("pagination did not end after 10,000 pages");
}

function ids(records: readonly CommandRecord[]): string[] {
  return records.map((record) => record.id);
}

function checkTimestampOrder(records: readonly CommandRecord[], what: string): void {
  for (let i = 1; i < records.length; i++) {
    const a = records[i - 1];
    const b = records[i];
    check(
      a.timestamp.getTime() < b.timestamp.getTime() ||
        (a.timestamp.getTime() === b.timestamp.getTime() && a.id < b.id),
      `${what}: ${a.id} @ ${a.timestamp.toISOString()} must come before ${b.id} @ ${b.timestamp.toISOString()}`,
    );
  }
}

/**
 * The cases every command log must pass. Call it with a factory that gives a
 * fresh, empty log; each case closes the log it made.
 *
 * @example Run it on the memory log
 * ```ts
 * import { commandLogContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(commandLogContract(() => new MemoryCommandLog()));
 * assert.deepEqual(results.filter((r) => !r.passed), []);
 * ```
 */
export function commandLogContract(
  factory: CommandLogFactory,
  options: CommandLogContractOptions = {},
): ContractCase[] {
  const { cases, test } = caseList(factory);

  test("records of every status round-trip through get()", async (log) => {
    const records: CommandRecord[] = [
      sampleCommandRecord({
        status: "accepted",
        causationId: "evt-previous",
        eventIds: [uuidv7(), uuidv7()],
        streamIds: ["account-1", "account-2"],
      }),
      sampleCommandRecord({
        status: "rejected",
        error: {
          name: "CommandRejectedError",
          message: "insufficient funds",
          code: "insufficient_funds",
          details: { balance: 10, requested: 50 },
        },
      }),
      sampleCommandRecord({
        status: "rejected",
        error: {
          name: "ValidationError",
          message: "Invalid Deposit command: data.amount: too small",
          code: "validation_failed",
          issues: [{ path: ["data", "amount"], message: "too small", code: "too_small" }],
        },
      }),
      sampleCommandRecord({
        status: "failed",
        error: { name: "ConcurrencyError", message: "conflict after 10 attempts" },
      }),
    ];
    for (const record of records) await log.record(record);
    for (const record of records) {
      checkEqual(await log.get(record.id), record, `the ${record.status} record`);
    }
  });

  test("getMany() gives the records in the order asked, undefined where there is none", async (log) => {
    if (!log.getMany) return;
    const records = [
      sampleCommandRecord({ status: "accepted" }),
      sampleCommandRecord({
        status: "rejected",
        error: { name: "CommandRejectedError", message: "no", code: "no" },
      }),
    ];
    for (const record of records) await log.record(record);
    const unknown = uuidv7();
    checkEqual(
      await log.getMany([records[1].id, unknown, records[0].id, records[1].id]),
      [records[1], undefined, records[0], records[1]],
      "getMany() of two known ids, an unknown one and a repeat",
    );
    checkEqual(await log.getMany([]), [], "getMany() of no ids");
  });

  test("get() of an unknown id gives undefined", async (log) => {
    await log.record(sampleCommandRecord());
    checkEqual(await log.get(uuidv7()), undefined, "an unknown id");
  });

  test("edge cases round-trip: no metadata, empty payload, unicode", async (log) => {
    const records = [
      sampleCommandRecord({ metadata: {} }),
      sampleCommandRecord({ payload: "" }),
      sampleCommandRecord({ payload: new Uint8Array(0), payloadCodec: "cbor" }),
      sampleCommandRecord({
        type: "Überweisung-送金-🙂",
        correlationId: "korrelation-ünï",
        payload: JSON.stringify({ note: "naïve café ☃ 🙂" }),
        metadata: { userId: "José 山田", nested: { list: [1, "zwei", null] } },
      }),
      sampleCommandRecord({
        payload: new Uint8Array([0, 1, 2, 253, 254, 255]),
        payloadCodec: "cbor",
      }),
      // JSON.parse makes "__proto__" an own key: it must stay one, not become
      // the prototype of the log's copy (outside Deno that is what
      // `copy[key] = value` does).
      sampleCommandRecord({
        type: "ProtoKey",
        metadata: JSON.parse('{"ip":"10.0.0.1","__proto__":{"userId":"root"}}'),
      }),
    ];
    for (const record of records) await log.record(record);
    for (const record of records) {
      const read = await log.get(record.id);
      checkEqual(read, record, `record ${record.type}`);
      check(
        Object.getPrototypeOf(read?.metadata) === Object.prototype,
        `the metadata of ${record.type} is a plain object`,
      );
    }
  });

  const MiB = 1024 * 1024;
  const maxPayload = options.maxPayloadBytes ?? MiB;
  test(
    maxPayload >= MiB
      ? "a 1 MiB payload round-trips, as text and as bytes"
      : `a payload at the log's limit (${maxPayload} bytes) round-trips; a 1 MiB one is recorded with the payload replaced by a marker`,
    async (log) => {
      const size = Math.min(maxPayload, MiB);
      const text = sampleCommandRecord({ payload: "é".repeat(Math.floor(size / 2)) });
      const bytes = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
      const binary = sampleCommandRecord({ payload: bytes, payloadCodec: "cbor" });
      await log.record(text);
      await log.record(binary);
      const readText = await log.get(text.id);
      check(
        readText?.payload === text.payload,
        "the large text payload comes back intact",
      );
      checkEqual((await log.get(binary.id))?.payload, bytes, "the large byte payload");
      if (maxPayload < MiB) {
        const huge = sampleCommandRecord({
          payload: new Uint8Array(MiB),
          payloadCodec: "cbor",
        });
        await log.record(huge);
        const stored = await log.get(huge.id);
        checkEqual(stored?.payloadCodec, "json", "the marker's codec");
        checkEqual(
          JSON.parse(String(stored?.payload)),
          { "verdict.truncated": { bytes: MiB, codec: "cbor" } },
          "the marker in place of the payload",
        );
        checkEqual(stored?.metadata[ALTERED_PARTS_KEY], ["payload"], "the part named");
        checkEqual(stored?.status, huge.status, "the rest of the record");
      }
    },
  );

  test("every record is stored: NUL and lone surrogates become U+FFFD, values that are not JSON a marker, each change listed under verdict.altered", async (log) => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const record = sampleCommandRecord({
      type: "Odd\u0000Type",
      correlationId: "corr-\uDC00",
      metadata: { note: "a\u0000b", ["k\u0000"]: 1, when: new Date(0), loop: cyclic },
      status: "rejected",
      error: {
        name: "CommandRejectedError",
        message: "refused \uD800",
        code: "refused",
        details: { amount: 10n, list: [NaN, "ok"] },
      },
    });
    await log.record(record);
    const stored = await log.get(record.id);
    check(stored !== undefined, "the record is stored");
    checkEqual(stored.type, "Odd\uFFFDType", "the command type");
    checkEqual(stored.correlationId, "corr-\uFFFD", "the correlation id");
    checkEqual(stored.error?.message, "refused \uFFFD", "the error message");
    checkEqual(
      stored.error?.details,
      { amount: "[unstorable: a BigInt]", list: ["[unstorable: NaN]", "ok"] },
      "the error details",
    );
    const { [ALTERED_PARTS_KEY]: altered, ...metadata } = stored.metadata;
    checkEqual(
      metadata,
      {
        note: "a\uFFFDb",
        "k\uFFFD": 1,
        when: "1970-01-01T00:00:00.000Z",
        loop: { self: "[unstorable: a cycle]" },
      },
      "the metadata",
    );
    checkEqual(
      altered,
      [
        "correlationId",
        "type",
        "metadata.note",
        "metadata.k\uFFFD",
        "metadata.loop.self",
        "error.message",
        "error.details.amount",
        "error.details.list.0",
      ],
      "every change listed",
    );
    checkEqual(
      (await log.findByType("Odd\uFFFDType")).records.map((r) => r.id),
      [record.id],
      "found by its stored command type",
    );
  });

  test("findByCorrelation() returns the correlation's records in timestamp order", async (log) => {
    const chain = [3, 1, 2].map((offset) =>
      sampleCommandRecord({
        correlationId: "chain-1",
        timestamp: new Date(BASE_TIME + offset * 1000),
      })
    );
    for (const record of chain) await log.record(record);
    await log.record(sampleCommandRecord({ correlationId: "chain-2" }));
    const found = await log.findByCorrelation("chain-1");
    checkEqual(
      ids(found),
      ids([chain[1], chain[2], chain[0]]),
      "the chain's records, oldest first",
    );
    checkEqual(await log.findByCorrelation("chain-404"), [], "an unknown correlation");
  });

  test("findByType() pages through one command type", async (log) => {
    const deposits: CommandRecord[] = [];
    for (let i = 0; i < 25; i++) {
      const deposit = sampleCommandRecord({
        type: "Deposit",
        timestamp: new Date(BASE_TIME + i),
      });
      deposits.push(deposit);
      await log.record(deposit);
      await log.record(
        sampleCommandRecord({
          type: "Withdraw",
          timestamp: new Date(BASE_TIME + i),
        }),
      );
    }
    const found = await allPages((q) => log.findByType("Deposit", q), { limit: 7 });
    checkEqual(ids(found), ids(deposits), "every deposit once, in order");
    const first = await log.findByType("Deposit", { limit: 7 });
    checkEqual(first.records.length, 7, "a page holds at most `limit` records");
    const none = await log.findByType("Refund");
    checkEqual(none.records, [], "an unknown type");
    checkEqual(none.nextCursor, undefined, "no next page");
  });

  test("list() filters by time range: since inclusive, before exclusive", async (log) => {
    const records = Array.from(
      { length: 10 },
      (_, i) => sampleCommandRecord({ timestamp: new Date(BASE_TIME + i * 1000) }),
    );
    for (const record of records) await log.record(record);
    const range = await allPages((q) => log.list(q), {
      since: new Date(BASE_TIME + 3000),
      before: new Date(BASE_TIME + 7000),
    });
    checkEqual(ids(range), ids(records.slice(3, 7)), "records from 3s to before 7s");
    checkEqual(
      ids((await log.list({ before: new Date(BASE_TIME + 2000) })).records),
      ids(records.slice(0, 2)),
      "before 2s",
    );
    checkEqual(
      ids((await log.list({ since: new Date(BASE_TIME + 8000) })).records),
      ids(records.slice(8)),
      "from 8s",
    );
  });

  test("list() and findByType() filter by status", async (log) => {
    const statuses = ["accepted", "rejected", "failed", "rejected", "accepted"] as const;
    const records = statuses.map((status, i) =>
      sampleCommandRecord({ status, timestamp: new Date(BASE_TIME + i) })
    );
    for (const record of records) await log.record(record);
    checkEqual(
      ids((await log.list({ status: "rejected" })).records),
      ids([records[1], records[3]]),
      "rejected",
    );
    checkEqual(
      ids((await log.list({ status: ["failed", "accepted"] })).records),
      ids([records[0], records[2], records[4]]),
      "failed or accepted",
    );
    checkEqual(
      ids((await log.findByType("Deposit", { status: "failed" })).records),
      ids([records[2]]),
      "failed deposits",
    );
    const paged = await allPages((q) => log.list(q), { status: "accepted", limit: 1 });
    checkEqual(ids(paged), ids([records[0], records[4]]), "filtered pages of 1");
  });

  test("cursor pages return every record exactly once, in order, ties included", async (log) => {
    const records: CommandRecord[] = [];
    for (let i = 0; i < 53; i++) {
      // Several records share each millisecond: ties are ordered by id.
      const record = sampleCommandRecord({
        timestamp: new Date(BASE_TIME + Math.floor(i / 4)),
      });
      records.push(record);
    }
    // Written out of order, as concurrent dispatches finish out of order.
    for (const record of [...records].reverse()) await log.record(record);
    for (const limit of [1, 5, 10, 53, 100]) {
      const all = await allPages((q) => log.list(q), { limit });
      checkTimestampOrder(all, `pages of ${limit}`);
      checkEqual(all.length, records.length, `records in pages of ${limit}`);
      checkEqual(
        new Set(ids(all)).size,
        records.length,
        `distinct ids, pages of ${limit}`,
      );
    }
  });

  test("cursor pages see every record once while new records are being written", async (log) => {
    const existing: CommandRecord[] = [];
    for (let i = 0; i < 40; i++) {
      const record = sampleCommandRecord({ timestamp: new Date(BASE_TIME + i) });
      existing.push(record);
      await log.record(record);
    }
    let written = 0;
    const all = await allPages((q) => log.list(q), { limit: 6 }, async () => {
      // Between pages, others write: later records and ones tied with the past.
      await log.record(
        sampleCommandRecord({ timestamp: new Date(BASE_TIME + 1000 + written) }),
      );
      await log.record(sampleCommandRecord({ timestamp: new Date(BASE_TIME + 39) }));
      written += 2;
    });
    checkTimestampOrder(all, "pages read during writes");
    checkEqual(new Set(ids(all)).size, all.length, "no record twice");
    const seen = new Set(ids(all));
    for (const record of existing) {
      check(seen.has(record.id), `record ${record.id} written before paging was seen`);
    }
    check(written > 0, "records were written between pages");
  });

  test("1,000 concurrent record() calls lose nothing", async (log) => {
    const records = Array.from({ length: 1000 }, (_, i) =>
      sampleCommandRecord({
        correlationId: `burst-${i % 10}`,
        timestamp: new Date(BASE_TIME + (i % 50)),
      }));
    await Promise.all(records.map((record) => log.record(record)));
    const all = await allPages((q) => log.list(q), { limit: 100 });
    checkEqual(all.length, 1000, "records listed");
    checkEqual(new Set(ids(all)).size, 1000, "distinct records");
    checkEqual((await log.findByCorrelation("burst-3")).length, 100, "one correlation");
  });

  test("recording an id twice is refused with CommandAlreadyRecordedError when the first record is final, and keeps it", async (log) => {
    for (const status of ["accepted", "rejected"] as const) {
      const record = sampleCommandRecord({ status });
      await log.record(record);
      const error = await checkRejects(
        log.record({
          ...record,
          status: "failed",
          error: { name: "Error", message: "x" },
        }),
        `recording a ${status} command again`,
      );
      check(
        error instanceof CommandAlreadyRecordedError,
        `a CommandAlreadyRecordedError, got ${String(error)}`,
      );
      checkEqual(error.existing?.status, status, "the error carries the record");
      checkEqual(await log.get(record.id), record, "the first record");
    }
    checkEqual((await log.list()).records.length, 2, "one record per command");
  });

  test("a failed command's record is replaced by its retry's, which keeps the first time, correlation and type", async (log) => {
    const failed = sampleCommandRecord({
      status: "failed",
      error: { name: "Error", message: "connection reset" },
      timestamp: new Date(BASE_TIME + 5),
    });
    await log.record(failed);
    const retry = sampleCommandRecord({
      id: failed.id,
      status: "accepted",
      timestamp: new Date(BASE_TIME + 900),
      durationMs: 7,
    });
    await log.record(retry);
    checkEqual(
      await log.get(failed.id),
      { ...retry, timestamp: failed.timestamp },
      "the retry's outcome at the first attempt's time",
    );
    checkEqual(
      (await log.findByType(failed.type)).records.map((r) => r.status),
      ["accepted"],
      "one record in the type index",
    );
    checkEqual(
      (await log.list()).records.map((r) => [r.id, r.status]),
      [[failed.id, "accepted"]],
      "one record in time order",
    );
    await checkRejects(
      log.record({ ...failed }),
      "a failed record after the accepted one",
    );
    checkEqual(
      (await log.get(failed.id))?.status,
      "accepted",
      "the accepted record stays",
    );
  });

  test("bad queries are refused: a malformed cursor, a non-positive limit, a time bound that is no date, `after` for `since`", async (log) => {
    await log.record(sampleCommandRecord());
    const badCursor = await checkRejects(
      log.list({ cursor: "not-a-cursor" }),
      "bad cursor",
    );
    check(badCursor instanceof TypeError, `a TypeError, got ${String(badCursor)}`);
    const badLimit = await checkRejects(log.list({ limit: 0 }), "limit 0");
    check(badLimit instanceof RangeError, `a RangeError, got ${String(badLimit)}`);
    const badSince = await checkRejects(
      log.findByType("T", { since: new Date(Number.NaN) }),
      "an invalid since",
    );
    check(badSince instanceof TypeError, `a TypeError, got ${String(badSince)}`);
    // `after` is exclusive everywhere in verdict; a time bound is `since`.
    const after = await checkRejects(
      log.list({ after: new Date(0) } as CommandQuery),
      "after",
    );
    check(
      after instanceof TypeError && /use `since`/.test(after.message),
      `a TypeError that says to use since, got ${String(after)}`,
    );
  });

  test("returned records do not alias stored ones", async (log) => {
    const record = sampleCommandRecord({ metadata: { tags: ["a"] } });
    await log.record(record);
    (record.metadata.tags as string[]).push("mutated input");
    const read = await log.get(record.id);
    check(read !== undefined, "the record exists");
    (read.metadata.tags as string[]).push("mutated output");
    (read.eventIds as string[]).length = 0;
    const again = await log.get(record.id);
    checkEqual(again?.metadata, { tags: ["a"] }, "metadata");
    checkEqual(again?.eventIds.length, 1, "event ids");
  });

  return cases;
}
