/**
 * The IndexedDB command log.
 *
 * @module
 */

import type { IDBPObjectStore } from "idb";
import {
  type CommandLogStore,
  type CommandPage,
  type CommandQuery,
  type CommandRecord,
  type CommandStatus,
  StoreClosedError,
} from "../../mod.ts";
import {
  assertValidCommandRecord,
  commandQueryLimit,
  decodeCommandCursor,
  encodeCommandCursor,
  retriedRecord,
  storableRecord,
  storedCommandRecord,
} from "../../src/store_kit/mod.ts";
import {
  abortQuietly,
  type StoredCommandRow,
  translateStorageError,
  VerdictDatabase,
  type VerdictSchema,
} from "./database.ts";

type StoreName =
  | "events"
  | "commands"
  | "checkpoints"
  | "snapshots"
  | "documents"
  | "projections";

/**
 * Options of {@linkcode IndexedDbCommandLog} and {@linkcode IndexedDbCheckpointStore}.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import {
 *   IndexedDbCheckpointStore,
 *   type IndexedDbStoreOptions,
 *   VerdictDatabase,
 * } from "@verdict/verdict/indexeddb";
 *
 * const options: IndexedDbStoreOptions = { database: new VerdictDatabase("example-shared") };
 * const checkpoints = new IndexedDbCheckpointStore(options);
 * await checkpoints.close();
 * ```
 */
export interface IndexedDbStoreOptions {
  /** The database (default: one named `"verdict"`); share it with the event store. */
  readonly database?: VerdictDatabase;
}

/**
 * A command log in IndexedDB, indexed by time, correlation and type. Give it
 * to an `IndexedDbEventStore` on the same `VerdictDatabase` as `commandLog`
 * and an accepted command's record commits in the append's transaction.
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto";
 * import { IndexedDbCommandLog, VerdictDatabase } from "@verdict/verdict/indexeddb";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const log = new IndexedDbCommandLog({ database: new VerdictDatabase("example-log") });
 * await log.record(sampleCommandRecord({ correlationId: "req-1" }));
 * assert.equal((await log.findByCorrelation("req-1")).length, 1);
 * await log.close();
 * ```
 */
export class IndexedDbCommandLog implements CommandLogStore {
  readonly #database: VerdictDatabase;
  #closed = false;

  /** Creates a log; the database opens on first use. */
  constructor(options: IndexedDbStoreOptions = {}) {
    this.#database = options.database ?? new VerdictDatabase("verdict");
  }

  /** Whether this log lives in `database` (so an event store there can commit with it). */
  sharesDatabase(database: VerdictDatabase): boolean {
    return database === this.#database;
  }

  /**
   * Adds a record inside a caller's readwrite transaction (the event store's
   * append).
   *
   * @ignore
   */
  async addInTransaction(
    commands: IDBPObjectStore<
      VerdictSchema,
      ArrayLike<StoreName>,
      "commands",
      "readwrite"
    >,
    record: CommandRecord,
  ): Promise<void> {
    record = storableRecord(record);
    const existing = await commands.get(record.id);
    if (existing === undefined) {
      await commands.add(toRow(record));
      return;
    }
    // A retry of a failed command replaces its record; a final one refuses.
    await commands.put(
      toRow(retriedRecord(storedCommandRecord(existing.record as CommandRecord), record)),
    );
  }

  /** Stores a record. */
  async record(record: CommandRecord): Promise<void> {
    this.#assertOpen();
    assertValidCommandRecord(record);
    const db = await this.#database.open();
    const tx = db.transaction("commands", "readwrite", { durability: "strict" });
    try {
      await this.addInTransaction(tx.store, record);
      await tx.done;
    } catch (error) {
      await abortQuietly(tx);
      throw translateStorageError(this.#database.name, error);
    }
  }

  /** The record with this id, or `undefined`. */
  async get(id: string): Promise<CommandRecord | undefined> {
    this.#assertOpen();
    const db = await this.#database.open();
    const row = await db.get("commands", id);
    return row && storedCommandRecord(row.record as CommandRecord);
  }

  /** The records with these ids, in order; `undefined` where there is none. */
  async getMany(ids: readonly string[]): Promise<(CommandRecord | undefined)[]> {
    this.#assertOpen();
    const db = await this.#database.open();
    const tx = db.transaction("commands", "readonly");
    const rows = await Promise.all(ids.map((id) => tx.store.get(id)));
    await tx.done;
    return rows.map((row) => row && storedCommandRecord(row.record as CommandRecord));
  }

  /** Every record of one correlation, in timestamp order. */
  async findByCorrelation(correlationId: string): Promise<CommandRecord[]> {
    this.#assertOpen();
    const db = await this.#database.open();
    const rows = await db.getAllFromIndex(
      "commands",
      "correlation",
      IDBKeyRange.bound([correlationId, -Infinity, ""], [
        correlationId,
        Infinity,
        "\uffff",
      ]),
    );
    return rows.map((row) => storedCommandRecord(row.record as CommandRecord));
  }

  /** Records of one command type, paged. */
  findByType(type: string, query: CommandQuery = {}): Promise<CommandPage> {
    return this.#page("type", [type], query);
  }

  /** All records, paged. */
  list(query: CommandQuery = {}): Promise<CommandPage> {
    return this.#page("time", [], query);
  }

  async #page(
    index: "time" | "type",
    prefix: string[],
    query: CommandQuery,
  ): Promise<CommandPage> {
    this.#assertOpen();
    const limit = commandQueryLimit(query);
    const cursor = query.cursor === undefined
      ? undefined
      : decodeCommandCursor(query.cursor);
    const statuses = query.status === undefined ? undefined : new Set<CommandStatus>(
      typeof query.status === "string" ? [query.status] : query.status,
    );
    // Lower bound: after the cursor (exclusive) or from `since` (inclusive).
    const since = query.since?.getTime() ?? -Infinity;
    const useCursor = cursor !== undefined && cursor.timestamp >= since;
    const lower = useCursor
      ? [...prefix, cursor!.timestamp, cursor!.id]
      : [...prefix, since];
    const upper = [...prefix, query.before?.getTime() ?? Infinity];
    const range = IDBKeyRange.bound(lower, upper, useCursor, true);
    const db = await this.#database.open();
    const records: CommandRecord[] = [];
    for (
      let c = await db.transaction("commands").store.index(index).openCursor(range);
      c;
      c = await c.continue()
    ) {
      const record = storedCommandRecord(c.value.record as CommandRecord);
      if (statuses && !statuses.has(record.status)) continue;
      if (records.length === limit) {
        const last = records[records.length - 1];
        return {
          records,
          nextCursor: encodeCommandCursor({
            timestamp: last.timestamp.getTime(),
            id: last.id,
          }),
        };
      }
      records.push(record);
    }
    return { records };
  }

  /** Closes the log and its database connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#database.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError("IndexedDB command log");
  }
}

function toRow(record: CommandRecord): StoredCommandRow {
  return {
    id: record.id,
    correlationId: record.correlationId,
    commandType: record.type,
    ts: record.timestamp.getTime(),
    record,
  };
}
