/**
 * The IndexedDB database behind verdict's browser stores: its schema, the
 * connection (reopened after a loss), and the errors a browser really throws.
 *
 * @module
 */

import {
  type DBSchema,
  type IDBPDatabase,
  type IDBPObjectStore,
  openDB,
  type StoreNames,
} from "idb";
import { VerdictError } from "../../mod.ts";

/**
 * One event stored alone: the position is the events store's auto-increment
 * key.
 */
export interface StoredEventRow {
  position?: number;
  id: string;
  streamId: string;
  version: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  /** The event's tags; absent when it has none. */
  tags?: string[];
  /** The tags of the row's events, once each, for the tag index; absent when none. */
  qt?: string[];
  timestamp: number;
}

/**
 * Consecutive events of one stream from one append, stored as one row: a
 * large append costs one write per slice instead of one per event. `version`
 * is the first event's, `position` (the key) the last event's; the events'
 * ids are in `id`, in order, where the events store's unique multi-entry
 * index finds each of them.
 */
export interface StoredSliceRow {
  position?: number;
  id: string[];
  streamId: string;
  version: number;
  events: {
    type: string;
    data: unknown;
    metadata: Record<string, unknown>;
    tags?: string[];
  }[];
  /** The tags of the row's events, once each, for the tag index; absent when none. */
  qt?: string[];
  timestamp: number;
}

/** A row of the events store: one event, or a slice of several. */
export type StoredRow = StoredEventRow | StoredSliceRow;

/** A stored command record; `ts` is its timestamp in ms, for the indexes. */
export interface StoredCommandRow {
  id: string;
  correlationId: string;
  commandType: string;
  ts: number;
  record: unknown;
}

/** The object stores and indexes of the database. */
export interface VerdictSchema extends DBSchema {
  events: {
    key: number;
    value: StoredRow;
    indexes: { stream: [string, number]; id: string; tag: string };
  };
  commands: {
    key: string;
    value: StoredCommandRow;
    indexes: {
      time: [number, string];
      correlation: [string, number, string];
      type: [string, number, string];
    };
  };
  checkpoints: { key: string; value: { consumer: string; position: number } };
  snapshots: {
    key: string;
    value: {
      streamId: string;
      version: number;
      schemaVersion: number;
      state: unknown;
      takenAt: Date;
    };
  };
  documents: {
    key: [string, string];
    value: { projection: string; id: string; document: unknown };
  };
  projections: { key: string; value: { name: string; position: number } };
}

/** The schema version this code creates and reads. */
export const SCHEMA_VERSION = 6;

/**
 * The browser refused to store more: the origin's quota is used up. The
 * transaction was aborted, so nothing of the write was kept.
 *
 * @example
 * ```ts
 * import { StorageQuotaError } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const error = new StorageQuotaError("verdict", new Error("QuotaExceededError"));
 * assert.match(error.message, /quota/);
 * ```
 */
export class StorageQuotaError extends VerdictError {
  /** The database that could not grow. */
  readonly database: string;
  /** Creates the error for a database. */
  constructor(database: string, cause: unknown) {
    super(
      `The browser's storage quota for this origin is used up: nothing was written to IndexedDB database "${database}". Free space (or ask for persistent storage) and retry.`,
      { cause },
    );
    this.name = "StorageQuotaError";
    this.database = database;
  }
}

/**
 * The database could not be opened or was closed by another tab: an open
 * connection of an older version blocks the upgrade, or a newer version was
 * requested elsewhere.
 *
 * @example
 * ```ts
 * import { DatabaseBlockedError } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * assert.match(new DatabaseBlockedError("verdict", "blocked").message, /another tab/);
 * ```
 */
export class DatabaseBlockedError extends VerdictError {
  /** The database. */
  readonly database: string;
  /** Creates the error for a database and what happened. */
  constructor(database: string, what: "blocked" | "versionchange") {
    super(
      what === "blocked"
        ? `IndexedDB database "${database}" cannot be upgraded while another tab keeps an older version open: close the other tabs of this app and reload.`
        : `IndexedDB database "${database}" was closed because another tab is upgrading it: reload this tab to continue.`,
    );
    this.name = "DatabaseBlockedError";
    this.database = database;
  }
}

/**
 * Aborts a transaction that failed, if the browser has not already, and
 * waits for it to end: nothing of it is written.
 */
export async function abortQuietly(
  tx: { abort(): void; done: Promise<void> },
): Promise<void> {
  try {
    tx.abort();
  } catch {
    // Already finished or aborted by the browser.
  }
  await tx.done.catch(() => {});
}

/** Turns a browser's DOMException into verdict's error for it. */
export function translateStorageError(database: string, error: unknown): unknown {
  const name = (error as { name?: string })?.name;
  if (name === "QuotaExceededError") return new StorageQuotaError(database, error);
  return error;
}

/**
 * This runtime has no IndexedDB (Node, Deno, a worker without it): the
 * IndexedDB stores are for browsers. Nothing was opened or written.
 *
 * @example
 * ```ts
 * import { IndexedDbUnavailableError } from "@verdict/verdict/indexeddb";
 * import assert from "node:assert/strict";
 *
 * const error = new IndexedDbUnavailableError("my-app");
 * assert.match(error.message, /fake-indexeddb/);
 * ```
 */
export class IndexedDbUnavailableError extends VerdictError {
  /** The database that could not be opened. */
  readonly database: string;
  /** Creates the error for a database. */
  constructor(database: string) {
    super(
      `IndexedDB database "${database}" cannot be opened: this runtime has no IndexedDB (globalThis.indexedDB is undefined). In a browser it is there; in Node or Deno tests, import "fake-indexeddb/auto" first; on a server, use the memory, Deno KV or PostgreSQL stores.`,
    );
    this.name = "IndexedDbUnavailableError";
    this.database = database;
  }
}

/**
 * One connection to a verdict database, shared by the stores that use it.
 * A connection the browser closes (storage cleared, a crash) is reopened on
 * the next call; one closed for another tab's upgrade stays closed with a
 * clear error.
 *
 * @example One database shared by the three stores
 * ```ts
 * import "fake-indexeddb/auto"; // in a browser, IndexedDB is simply there
 * import {
 *   IndexedDbCommandLog,
 *   IndexedDbEventStore,
 *   VerdictDatabase,
 * } from "@verdict/verdict/indexeddb";
 *
 * const database = new VerdictDatabase("my-app");
 * const commandLog = new IndexedDbCommandLog({ database });
 * const events = new IndexedDbEventStore({ database, commandLog });
 * await events.close(); // closes the shared connection
 * ```
 */
export class VerdictDatabase {
  /** The database's name. */
  readonly name: string;
  #db?: Promise<IDBPDatabase<VerdictSchema>>;
  #blockedByUpgrade = false;
  #closed = false;
  #connections = 0;

  /** Names the database; nothing opens until the first call. */
  constructor(name: string) {
    this.name = name;
  }

  /**
   * The open connection, opening (or reopening) it when needed. For the
   * stores of this module.
   *
   * @ignore
   */
  open(): Promise<IDBPDatabase<VerdictSchema>> {
    if (this.#closed) {
      throw new VerdictError(`IndexedDB database "${this.name}" is closed`);
    }
    if (this.#blockedByUpgrade) {
      throw new DatabaseBlockedError(this.name, "versionchange");
    }
    if (typeof globalThis.indexedDB === "undefined") {
      throw new IndexedDbUnavailableError(this.name);
    }
    this.#db ??= this.#connect();
    return this.#db;
  }

  /**
   * How many connections have been opened: a store that remembers what it
   * saw in the database forgets it when this changes, as a reopened
   * connection may find the data cleared.
   *
   * @ignore
   */
  get connections(): number {
    return this.#connections;
  }

  #connect(): Promise<IDBPDatabase<VerdictSchema>> {
    const name = this.name;
    this.#connections++;
    const db = new Promise<IDBPDatabase<VerdictSchema>>((resolve, reject) => {
      let gaveUp = false;
      openDB<VerdictSchema>(name, SCHEMA_VERSION, {
        upgrade(db, oldVersion, _newVersion, transaction) {
          if (oldVersion < 1) {
            const events = db.createObjectStore("events", {
              keyPath: "position",
              autoIncrement: true,
            });
            events.createIndex("stream", ["streamId", "version"], { unique: true });
            events.createIndex("id", "id", { unique: true, multiEntry: true });
            const commands = db.createObjectStore("commands", { keyPath: "id" });
            commands.createIndex("time", ["ts", "id"]);
            commands.createIndex("correlation", ["correlationId", "ts", "id"]);
            commands.createIndex("type", ["commandType", "ts", "id"]);
            db.createObjectStore("checkpoints", { keyPath: "consumer" });
          }
          if (oldVersion < 2) db.createObjectStore("snapshots", { keyPath: "streamId" });
          if (oldVersion < 3) {
            db.createObjectStore("documents", { keyPath: ["projection", "id"] });
            db.createObjectStore("projections", { keyPath: "name" });
          }
          // Versions 1–3 kept each stream's head in a "streams" store. The
          // last key of the events' [streamId, version] index is the head,
          // and writing a second store cost a quarter of a command's
          // transaction in Chromium.
          if (oldVersion >= 1 && oldVersion < 4) {
            (db as unknown as IDBDatabase).deleteObjectStore("streams");
          }
          // Version 5 stores large appends in slices of events, one row
          // each: their ids are indexed as several entries of one row.
          if (oldVersion >= 1 && oldVersion < 5) {
            const events = transaction.objectStore("events");
            events.deleteIndex("id");
            events.createIndex("id", "id", { unique: true, multiEntry: true });
          }
          // Version 6 indexes rows by their events' tags (issue #24), so a
          // query by tag reads its rows alone; rows stored before get their
          // tags listed, in this upgrade's transaction.
          if (oldVersion < 6) {
            const events = transaction.objectStore("events");
            events.createIndex("tag", "qt", { multiEntry: true });
            // A failed write aborts the upgrade's transaction, and openDB
            // rejects with it: nothing to add here.
            if (oldVersion >= 1) listTagsOfStoredRows(events).catch(() => {});
          }
        },
        blocked: () => {
          // An older version is open in another tab: fail now, clearly.
          gaveUp = true;
          reject(new DatabaseBlockedError(name, "blocked"));
        },
        blocking: () => {
          // Another tab wants a newer version: let it, and say so here.
          this.#blockedByUpgrade = true;
          this.#db?.then((open) => open.close());
          this.#db = undefined;
        },
        terminated: () => {
          // The browser closed the connection: reopen on the next call.
          this.#db = undefined;
        },
      }).then((open) => {
        if (gaveUp) open.close();
        else resolve(open);
      }, reject);
    });
    db.catch(() => {
      this.#db = undefined;
    });
    return db;
  }

  /** Closes the connection; later calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    if (db) (await db.catch(() => undefined))?.close();
  }
}

/** The tags of a row's events, once each; undefined when they have none. */
export function rowTags(row: StoredRow): string[] | undefined {
  const tags = new Set<string>();
  if ("events" in row && Array.isArray(row.events)) {
    for (const event of row.events) for (const tag of event.tags ?? []) tags.add(tag);
  } else {
    for (const tag of (row as StoredEventRow).tags ?? []) tags.add(tag);
  }
  return tags.size > 0 ? [...tags] : undefined;
}

/**
 * Sets `qt` on every stored row with tags, for the tag index: a cursor over
 * the events store, in the upgrade's transaction, which commits only once
 * every row is done (or aborts the upgrade).
 */
async function listTagsOfStoredRows(
  events: IDBPObjectStore<
    VerdictSchema,
    StoreNames<VerdictSchema>[],
    "events",
    "versionchange"
  >,
): Promise<void> {
  for (let cursor = await events.openCursor(); cursor; cursor = await cursor.continue()) {
    const row = cursor.value;
    const tags = Array.isArray((row as { tags?: unknown }).tags) ||
        Array.isArray((row as { events?: unknown }).events)
      ? rowTags(row)
      : undefined;
    if (tags) await cursor.update({ ...row, qt: tags });
  }
}
