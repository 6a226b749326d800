/**
 * The in-memory command log: the reference implementation of the
 * `CommandLogStore` port.
 *
 * @module
 */

import {
  type CommandLogStore,
  type CommandPage,
  type CommandQuery,
  type CommandRecord,
  type CommandRecordError,
  type CommandStatus,
  StoreClosedError,
} from "../../mod.ts";
import {
  type CommandCursor,
  commandQueryLimit,
  compareCommandOrder,
  decodeCommandCursor,
  encodeCommandCursor,
  retriedRecord,
  storableRecord,
} from "../../src/store_kit/mod.ts";
import { cloneData } from "./clone.ts";
import { settle } from "./settle.ts";

/**
 * A stored record, kept flat: one object per record (plus its payload) instead
 * of the record, its Date, and copies of its metadata and id arrays. The log
 * keeps every record alive, so each object per record is copied by every
 * garbage collection it survives; a record is rebuilt when it is read.
 * It is its own (timestamp, id) position in the order.
 */
class Entry implements CommandCursor {
  readonly id: string;
  readonly timestamp: number;
  readonly correlationId: string;
  causationId: string | undefined;
  readonly type: string;
  payload: string | Uint8Array;
  payloadCodec: string;
  /** `undefined` when empty. */
  metadata: Readonly<Record<string, unknown>> | undefined;
  status: CommandStatus;
  error: CommandRecordError | undefined;
  /** A single id is kept as the string itself. */
  eventIds: string | readonly string[];
  streamIds: string | readonly string[];
  durationMs: number;

  constructor(record: CommandRecord) {
    this.id = record.id;
    this.timestamp = record.timestamp.getTime();
    this.correlationId = record.correlationId;
    this.type = record.type;
    this.causationId = undefined;
    this.payload = "";
    this.payloadCodec = "";
    this.metadata = undefined;
    this.status = "failed";
    this.error = undefined;
    this.eventIds = [];
    this.streamIds = [];
    this.durationMs = 0;
    this.set(record);
  }

  /**
   * Takes a record's outcome. A retry of a failed command replaces it this
   * way: id, time, correlation and type stay, so every index keeps its place.
   */
  set(record: CommandRecord): void {
    this.causationId = record.causationId;
    this.payload = typeof record.payload === "string"
      ? record.payload
      : record.payload.slice();
    this.payloadCodec = record.payloadCodec;
    this.metadata = isEmpty(record.metadata) ? undefined : cloneData(record.metadata);
    this.status = record.status;
    this.error = record.error === undefined ? undefined : cloneData(record.error);
    this.eventIds = compactIds(record.eventIds);
    this.streamIds = compactIds(record.streamIds);
    this.durationMs = record.durationMs;
  }

  /** A fresh copy of the record, sharing nothing the caller could mutate. */
  toRecord(): CommandRecord {
    const record: { -readonly [K in keyof CommandRecord]: CommandRecord[K] } = {
      id: this.id,
      correlationId: this.correlationId,
      type: this.type,
      payload: typeof this.payload === "string" ? this.payload : this.payload.slice(),
      payloadCodec: this.payloadCodec,
      metadata: this.metadata === undefined ? {} : cloneData(this.metadata),
      status: this.status,
      eventIds: expandIds(this.eventIds),
      streamIds: expandIds(this.streamIds),
      durationMs: this.durationMs,
      timestamp: new Date(this.timestamp),
    };
    if (this.causationId !== undefined) record.causationId = this.causationId;
    if (this.error !== undefined) record.error = cloneData(this.error);
    return record;
  }
}

function isEmpty(metadata: Readonly<Record<string, unknown>>): boolean {
  for (const key in metadata) if (Object.hasOwn(metadata, key)) return false;
  return true;
}

function compactIds(ids: readonly string[]): string | readonly string[] {
  return ids.length === 1 ? ids[0] : ids.slice();
}

function expandIds(ids: string | readonly string[]): string[] {
  return typeof ids === "string" ? [ids] : ids.slice();
}

/**
 * A command log in this process's memory, kept in timestamp order with
 * indexes by id, correlation and type. Records are copied in and out. Pass it
 * to a `MemoryEventStore` as `commandLog` to have accepted commands' records
 * commit atomically with their events.
 *
 * @example
 * ```ts
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * await log.record({
 *   id: "cmd-1",
 *   correlationId: "req-1",
 *   type: "Deposit",
 *   payload: '{"amount":5}',
 *   payloadCodec: "json",
 *   metadata: {},
 *   status: "accepted",
 *   eventIds: ["evt-1"],
 *   streamIds: ["account-1"],
 *   durationMs: 1,
 *   timestamp: new Date(),
 * });
 * assert.equal((await log.get("cmd-1"))?.status, "accepted");
 * assert.equal((await log.list()).records.length, 1);
 * ```
 */
export class MemoryCommandLog implements CommandLogStore {
  /** Every entry in (timestamp, id) order: what pages walk. */
  readonly #ordered: Entry[] = [];
  /** Entries in the order they were recorded. */
  readonly #inserted: Entry[] = [];
  // Command ids are usually UUIDv7s made in this process, so they arrive in
  // increasing order and are found by binary search; others go in a map.
  // (Hashing a fresh id string costs more than the rest of a record.)
  readonly #increasingIds: Entry[] = [];
  readonly #otherIds = new Map<string, Entry>();
  // The correlation and type indexes are built on first use, then kept up to
  // date from `#inserted`: a log nobody queries pays nothing for them.
  readonly #byCorrelation = new Map<string, Entry[]>();
  readonly #byType = new Map<string, Entry[]>();
  #indexed = 0;
  #closed = false;

  /** Stores a record. */
  record(record: CommandRecord): Promise<void> {
    return settle(() => {
      this.recordInTransaction(record);
      return;
    });
  }

  /**
   * Stores a record synchronously. The memory event store calls it inside an
   * append, so the record and the events land together or not at all; it
   * throws before changing anything when the record cannot be stored.
   */
  recordInTransaction(record: CommandRecord): void {
    this.#assertOpen();
    record = storableRecord(record);
    const ids = this.#increasingIds;
    // An id above every id seen so far is new: no search needed.
    const increasing = ids.length === 0 || ids[ids.length - 1].id < record.id;
    const existing = increasing
      ? this.#otherIds.size > 0 ? this.#otherIds.get(record.id) : undefined
      : this.#find(record.id);
    if (existing) {
      // Throws unless the first attempt failed (and so wrote nothing).
      existing.set(retriedRecord(existing.toRecord(), record));
      return;
    }
    const entry = new Entry(record);
    if (increasing) ids.push(entry);
    else this.#otherIds.set(entry.id, entry);
    this.#inserted.push(entry);
    insertOrdered(this.#ordered, entry);
  }

  #find(id: string): Entry | undefined {
    const ids = this.#increasingIds;
    let low = 0;
    let high = ids.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ids[mid].id < id) low = mid + 1;
      else high = mid;
    }
    if (ids[low]?.id === id) return ids[low];
    return this.#otherIds.size > 0 ? this.#otherIds.get(id) : undefined;
  }

  #catchUpIndexes(): void {
    const inserted = this.#inserted;
    for (; this.#indexed < inserted.length; this.#indexed++) {
      const entry = inserted[this.#indexed];
      insertOrdered(indexList(this.#byCorrelation, entry.correlationId), entry);
      insertOrdered(indexList(this.#byType, entry.type), entry);
    }
  }

  /** The record with this id, or `undefined`. */
  get(id: string): Promise<CommandRecord | undefined> {
    return settle(() => {
      this.#assertOpen();
      const entry = this.#find(id);
      return entry && entry.toRecord();
    });
  }

  /** The records with these ids, in order; `undefined` where there is none. */
  getMany(ids: readonly string[]): Promise<(CommandRecord | undefined)[]> {
    return settle(() => {
      this.#assertOpen();
      return ids.map((id) => this.#find(id)?.toRecord());
    });
  }

  /** Every record of one correlation, in timestamp order. */
  findByCorrelation(correlationId: string): Promise<CommandRecord[]> {
    return settle(() => {
      this.#assertOpen();
      this.#catchUpIndexes();
      const entries = this.#byCorrelation.get(correlationId) ?? [];
      return entries.map((entry) => entry.toRecord());
    });
  }

  /** Records of one command type, paged. */
  findByType(type: string, query: CommandQuery = {}): Promise<CommandPage> {
    return settle(() => {
      this.#assertOpen();
      this.#catchUpIndexes();
      return page(this.#byType.get(type) ?? [], query);
    });
  }

  /** All records, paged. */
  list(query: CommandQuery = {}): Promise<CommandPage> {
    return settle(() => {
      this.#assertOpen();
      return page(this.#ordered, query);
    });
  }

  /** Closes the log. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("memory command log");
  }
}

function indexList(index: Map<string, Entry[]>, key: string): Entry[] {
  let list = index.get(key);
  if (!list) index.set(key, list = []);
  return list;
}

/** Inserts in (timestamp, id) order; records almost always arrive last. */
function insertOrdered(list: Entry[], entry: Entry): void {
  const last = list[list.length - 1];
  if (!last || compareCommandOrder(last, entry) < 0) {
    list.push(entry);
    return;
  }
  list.splice(firstAfter(list, entry), 0, entry);
}

/** Index of the first entry ordered after `cursor`. */
function firstAfter(list: readonly Entry[], cursor: CommandCursor): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareCommandOrder(list[mid], cursor) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

function page(list: readonly Entry[], query: CommandQuery): CommandPage {
  const limit = commandQueryLimit(query);
  const statuses = query.status === undefined ? undefined : new Set<CommandStatus>(
    typeof query.status === "string" ? [query.status] : query.status,
  );
  let start = 0;
  if (query.cursor !== undefined) {
    start = firstAfter(list, decodeCommandCursor(query.cursor));
  }
  if (query.since !== undefined) {
    // The last entry before `since` in order is (since - 1ms, any id).
    start = Math.max(
      start,
      firstAfter(list, { timestamp: query.since.getTime() - 1, id: "\uffff" }),
    );
  }
  const before = query.before?.getTime() ?? Infinity;
  const records: CommandRecord[] = [];
  let last: Entry | undefined;
  for (let i = start; i < list.length; i++) {
    const entry = list[i];
    if (entry.timestamp >= before) break;
    if (statuses && !statuses.has(entry.status)) continue;
    if (records.length === limit) {
      return { records, nextCursor: encodeCommandCursor(last!) };
    }
    records.push(entry.toRecord());
    last = entry;
  }
  return { records };
}
