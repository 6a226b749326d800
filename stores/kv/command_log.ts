/**
 * The Deno KV command log.
 *
 * Key layout under the log's prefix `P`:
 *
 * | key                                        | value       |
 * | ------------------------------------------ | ----------- |
 * | `[P, "c", "r", id]`                        | the record  |
 * | `[P, "c", "t", timestamp, id]`             | `null`: timestamp order |
 * | `[P, "c", "k", correlationId, timestamp, id]` | `null`: by correlation |
 * | `[P, "c", "y", type, timestamp, id]`          | `null`: by type |
 *
 * @module
 */

import type {
  AtomicOperation,
  Kv,
  KvEntry,
  KvKey,
  KvKeyPart,
  KvListSelector,
} from "./kv.ts";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "./busy.ts";
import {
  CommandAlreadyRecordedError,
  type CommandLogStore,
  type CommandPage,
  type CommandQuery,
  type CommandRecord,
  type CommandStatus,
  StoreClosedError,
} from "../../mod.ts";
import {
  commandQueryLimit,
  decodeCommandCursor,
  encodeCommandCursor,
  retriedRecord,
  storableRecord,
  storedCommandRecord,
} from "../../src/store_kit/mod.ts";
import { GET_MANY, getManyStrong } from "./get_many.ts";
import { KV_LIMITS, KvBudget, valueSize } from "./limits.ts";

/**
 * Options of {@linkcode KvCommandLog}.
 *
 * @example
 * ```ts
 * import { KvCommandLog, type KvCommandLogOptions } from "@verdict/verdict/kv";
 *
 * const kv = await Deno.openKv(":memory:");
 * const options: KvCommandLogOptions = { prefix: ["billing"], ownsKv: true };
 * const log = new KvCommandLog(kv, options);
 * await log.close();
 * ```
 */
export interface KvCommandLogOptions {
  /** The key prefix (default `["verdict"]`); use the event store's for atomic audit. */
  readonly prefix?: KvKey;
  /** Close the KV handle when the log closes (default false). */
  readonly ownsKv?: boolean;
}

/**
 * A command log on Deno KV: records with indexes by time, correlation and
 * type, in one atomic operation per record. Give it to a `KvEventStore` on
 * the same KV as `commandLog` and an accepted command's record commits in
 * the same atomic operation as its events. A record must fit in one KV value
 * (64 KiB, payload included); a larger one fails with a `KvLimitError`.
 *
 * @example
 * ```ts
 * import { KvCommandLog } from "@verdict/verdict/kv";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const kv = await Deno.openKv(":memory:");
 * const log = new KvCommandLog(kv, { ownsKv: true });
 * const record = sampleCommandRecord({ correlationId: "req-1" });
 * await log.record(record);
 * assert.equal((await log.findByCorrelation("req-1")).length, 1);
 * await log.close();
 * ```
 */
export class KvCommandLog implements CommandLogStore {
  readonly #kv: Kv;
  readonly #prefix: KvKey;
  readonly #ownsKv: boolean;
  #closed = false;

  /** Creates a log over a KV handle. */
  constructor(kv: Kv, options: KvCommandLogOptions = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["verdict"];
    this.#ownsKv = options.ownsKv ?? false;
  }

  /** Whether this log writes to `kv` (so an event store there can commit with it). */
  sharesKv(kv: Kv): boolean {
    return kv === this.#kv;
  }

  #key(...parts: KvKeyPart[]): KvKey {
    return [...this.#prefix, "c", ...parts];
  }

  /**
   * Adds a record's writes, and the check that its id is new, to an atomic
   * operation: how a `KvEventStore` commits the record with its events.
   */
  addToOperation(
    operation: AtomicOperation,
    budget: KvBudget,
    record: CommandRecord,
    failed?: KvEntry<CommandRecord>,
  ): void {
    this.#assertOpen();
    // Within KV's value limit, by the policy every log follows.
    record = storableRecord(record, {
      maxBytes: KV_LIMITS.valueBytes,
      sizeOf: valueSize,
    });
    // A retry of a failed command replaces its record, which keeps its time,
    // correlation and type: the index keys stay as they are.
    if (failed) record = retriedRecord(storedCommandRecord(failed.value), record);
    const what = `the command record ${record.id}`;
    const ts = record.timestamp.getTime();
    const recordKey = this.#key("r", record.id);
    budget.check(recordKey, what);
    operation.check({ key: recordKey, versionstamp: failed?.versionstamp ?? null });
    const writes: [KvKey, unknown][] = [
      [recordKey, record],
      [this.#key("t", ts, record.id), null],
      [this.#key("k", record.correlationId, ts, record.id), null],
      [this.#key("y", record.type, ts, record.id), null],
    ];
    for (const [key, value] of writes) {
      budget.set(key, value, what);
      operation.set(key, value);
    }
  }

  /**
   * The record of `id` when it is a failed one, which a retry may replace;
   * `undefined` when there is none.
   *
   * @throws {CommandAlreadyRecordedError} when the command has a final record.
   */
  async failedRecord(id: string): Promise<KvEntry<CommandRecord> | undefined> {
    const existing = await this.#kv.get<CommandRecord>(this.#key("r", id), {
      consistency: "strong",
    });
    if (existing.versionstamp === null) return undefined;
    if (existing.value.status !== "failed") {
      throw new CommandAlreadyRecordedError(id, storedCommandRecord(existing.value));
    }
    return existing as KvEntry<CommandRecord>;
  }

  /** Stores a record. */
  async record(record: CommandRecord): Promise<void> {
    let failed: KvEntry<CommandRecord> | undefined;
    for (let attempt = 1;; attempt++) {
      const operation = this.#kv.atomic();
      const budget = new KvBudget();
      this.addToOperation(operation, budget, record, failed);
      budget.assertWithin(`the command record ${record.id}`);
      const result = await whileBusy(
        "Deno KV command log",
        DEFAULT_BUSY_TIMEOUT_MS,
        () => operation.commit(),
      );
      if (result.ok) return;
      // Taken meanwhile: by a final record (refused), or a failed one (replaced).
      failed = await this.failedRecord(record.id);
      if (attempt >= 10) throw new CommandAlreadyRecordedError(record.id, failed?.value);
    }
  }

  /** The record with this id, or `undefined`. */
  async get(id: string): Promise<CommandRecord | undefined> {
    this.#assertOpen();
    const entry = await this.#kv.get<CommandRecord>(this.#key("r", id), {
      consistency: "strong",
    });
    return entry.value ? storedCommandRecord(entry.value) : undefined;
  }

  /** The records with these ids, in order; `undefined` where there is none. */
  async getMany(ids: readonly string[]): Promise<(CommandRecord | undefined)[]> {
    this.#assertOpen();
    const entries = await getManyStrong<CommandRecord>(
      this.#kv,
      ids.map((id) => this.#key("r", id)),
    );
    return entries.map((entry) =>
      entry.value ? storedCommandRecord(entry.value) : undefined
    );
  }

  async #records(ids: readonly string[]): Promise<CommandRecord[]> {
    const entries = await getManyStrong<CommandRecord>(
      this.#kv,
      ids.map((id) => this.#key("r", id)),
    );
    return entries.flatMap((
      entry,
    ) => (entry.value ? [storedCommandRecord(entry.value)] : []));
  }

  /** Every record of one correlation, in timestamp order. */
  async findByCorrelation(correlationId: string): Promise<CommandRecord[]> {
    this.#assertOpen();
    const ids: string[] = [];
    for await (
      const entry of this.#kv.list({ prefix: this.#key("k", correlationId) }, {
        consistency: "strong",
      })
    ) ids.push(entry.key.at(-1) as string);
    return await this.#records(ids);
  }

  /** Records of one command type, paged. */
  findByType(type: string, query: CommandQuery = {}): Promise<CommandPage> {
    return this.#page(this.#key("y", type), query);
  }

  /** All records, paged. */
  list(query: CommandQuery = {}): Promise<CommandPage> {
    return this.#page(this.#key("t"), query);
  }

  /** Pages through an index whose keys end in (timestamp, id). */
  async #page(index: KvKey, query: CommandQuery): Promise<CommandPage> {
    this.#assertOpen();
    const limit = commandQueryLimit(query);
    const statuses = query.status === undefined ? undefined : new Set<CommandStatus>(
      typeof query.status === "string" ? [query.status] : query.status,
    );
    let start: KvKey | undefined = query.since === undefined
      ? undefined
      : [...index, query.since.getTime()];
    if (query.cursor !== undefined) {
      const cursor = decodeCommandCursor(query.cursor);
      // The smallest key after (timestamp, id): the id with a zero byte appended.
      if (query.since === undefined || cursor.timestamp >= query.since.getTime()) {
        start = [...index, cursor.timestamp, cursor.id + "\0"];
      }
    }
    const end: KvKey | undefined = query.before === undefined
      ? undefined
      : [...index, query.before.getTime()];
    const selector: KvListSelector = start && end
      ? { start, end }
      : start
      ? { prefix: index, start }
      : end
      ? { prefix: index, end }
      : { prefix: index };
    const records: CommandRecord[] = [];
    let pending: string[] = [];
    const flush = async () => {
      for (const record of await this.#records(pending)) {
        if (!statuses || statuses.has(record.status)) records.push(record);
      }
      pending = [];
    };
    for await (
      const entry of this.#kv.list(selector, { consistency: "strong", batchSize: 100 })
    ) {
      pending.push(entry.key.at(-1) as string);
      if (pending.length === GET_MANY) await flush();
      // One more than a page tells whether a next page exists.
      if (records.length > limit) break;
    }
    if (records.length <= limit) await flush();
    if (records.length > limit) {
      const page = records.slice(0, limit);
      const last = page[page.length - 1];
      return {
        records: page,
        nextCursor: encodeCommandCursor({
          timestamp: last.timestamp.getTime(),
          id: last.id,
        }),
      };
    }
    return { records };
  }

  /** Closes the log (and the KV handle, when it owns it). */
  close(): Promise<void> {
    if (!this.#closed && this.#ownsKv) this.#kv.close();
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("Deno KV command log");
  }
}
