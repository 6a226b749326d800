/**
 * The PostgreSQL event store.
 *
 * @module
 */

import type { Sql } from "postgres";
import {
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type Clock,
  type Event,
  type EventQuery,
  type EventStore,
  type InlineProjections,
  type NewEvent,
  type QueryResult,
  type ReadAllOptions,
  type ReadQueryOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
  systemClock,
} from "../../mod.ts";
import {
  assertValidEventQuery,
  assertValidProjections,
  assertValidReadAllOptions,
  assertValidReadQueryOptions,
  assertValidReadStreamOptions,
  assertValidStreamId,
} from "../../src/store_kit/mod.ts";
import { SchemaHandle } from "./schema_handle.ts";
import { headVersion } from "./append_statement.ts";
import type { PostgresCommandLog } from "./command_log.ts";
import type { PostgresDocumentStore } from "./document_store.ts";
import { PostgresAppends } from "./append.ts";
import { selectAll, selectByIds, selectQuery, selectStream } from "./event_reads.ts";
import { whileActive } from "./idle_exit.ts";
import { PostgresWakeUps } from "./wake_ups.ts";

export { readAllQuery } from "./event_reads.ts";

/**
 * Options of {@linkcode PostgresEventStore}.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import {
 *   PostgresCommandLog,
 *   PostgresEventStore,
 *   type PostgresEventStoreOptions,
 * } from "@verdict/verdict/postgres";
 *
 * const sql = postgres("postgres://app@127.0.0.1/app", { max: 16 });
 * const options: PostgresEventStoreOptions = {
 *   schema: "billing",
 *   commandLog: new PostgresCommandLog(sql, { schema: "billing" }),
 * };
 * const store = new PostgresEventStore(sql, options);
 * await sql.end();
 * ```
 */
export interface PostgresEventStoreOptions {
  /** The schema holding the store's tables (default `"verdict"`). */
  readonly schema?: string;
  /**
   * A command log in the same database and schema whose records commit in
   * the same statement as this store's appends (for atomic audit).
   */
  readonly commandLog?: PostgresCommandLog;
  /** Close the connection pool when the store closes (default false). */
  readonly ownsSql?: boolean;
  /** The clock for event timestamps (default: the system clock). */
  readonly clock?: Clock;
  /**
   * Document projections kept inside every append's transaction (their
   * store must use the same pool and schema). An append that writes then
   * takes a transaction of a few statements instead of one statement.
   */
  readonly inlineProjections?: InlineProjections<PostgresDocumentStore>;
  /**
   * The shortest time, in milliseconds, between two NOTIFYs this store sends
   * to followers in other processes (default 10). The first append after a
   * quiet spell notifies at once; appends within the interval share one
   * NOTIFY at its end. Followers in this process are woken at every commit.
   * 0 notifies after every append (one more statement per append).
   */
  readonly notifyInterval?: number;
  /**
   * Look for other processes' appends every this many milliseconds instead
   * of listening for their NOTIFY (default: listen). For a pool behind a
   * transaction pooler such as PgBouncer in transaction mode, where LISTEN
   * cannot work: followers there learn of other processes' appends within
   * this interval. This store's own appends still wake its followers at
   * once.
   */
  readonly pollInterval?: number;
  /**
   * The longest a call may take, in milliseconds (default 30,000): one
   * that has not settled by then fails (for an append, with a
   * `CommitUnknownError`) instead of waiting for ever on a connection whose
   * backend is gone.
   */
  readonly callTimeoutMs?: number;
}

/**
 * An event store on PostgreSQL (through postgres.js).
 *
 * Every append is one SQL statement: a data-modifying CTE that moves the
 * stream's head row only if the expected version holds (the head row is the
 * concurrency token, so racing writers queue on its lock and the losers see
 * the winner's version), inserts the events with one multi-row insert, and —
 * for an accepted audited command — inserts the command record; with
 * autocommit that is one round trip for a command whose state is cached.
 * Several streams go in one transaction, their rows locked in stream-id
 * order so appends naming the same streams in another order queue instead
 * of deadlocking; so does an append with inline projections, which then
 * also locks, reads and writes their documents.
 *
 * Readers see a gap-free order: an event's position is its transaction id
 * (`xid8`) times 65,536 plus its index in the transaction, and `readAll`
 * returns only events of transactions older than the oldest one still
 * running (`pg_snapshot_xmin(pg_current_snapshot())`). A transaction that
 * commits late therefore never lands behind a reader's checkpoint; the price
 * is that a long-running transaction holds readers back until it ends.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { PostgresEventStore } from "@verdict/verdict/postgres";
 *
 * const sql = postgres(Deno.env.get("DATABASE_URL")!);
 * const store = new PostgresEventStore(sql, { schema: "bank", ownsSql: true });
 * await store.appendToStream("account-1", [{ type: "Opened", data: {} }], {
 *   expectedVersion: "no_stream",
 * });
 * await store.close();
 * ```
 */
export class PostgresEventStore implements EventStore, AppendNotifier {
  /** The log whose records commit atomically with appends, if one was given. */
  readonly commandLog?: PostgresCommandLog;
  readonly #db: SchemaHandle;
  readonly #appends: PostgresAppends;
  readonly #wakeUps: PostgresWakeUps;
  /** The position of the last event this store committed: its reads wait for it. */
  #ownLast = 0;
  /** The last position this store committed with each tag, for readQuery. */
  readonly #ownTagged = new Map<string, number>();

  /** Creates a store on a postgres.js connection pool. */
  constructor(sql: Sql, options: PostgresEventStoreOptions = {}) {
    this.#db = new SchemaHandle(sql, options, "PostgreSQL event store");
    this.#wakeUps = new PostgresWakeUps(
      this.#db.sql,
      this.#db.schema,
      options.notifyInterval ?? 10,
      options.pollInterval,
    );
    this.commandLog = options.commandLog;
    if (this.commandLog && !this.commandLog.sharesDatabase(sql, this.#db.schema)) {
      throw new TypeError(
        "The command log must use the same connection pool and schema as the event store",
      );
    }
    if (options.inlineProjections) {
      assertValidProjections(options.inlineProjections.projections);
      if (!options.inlineProjections.store.sharesDatabase(sql, this.#db.schema)) {
        throw new TypeError(
          "The inline projections' store must use the same connection pool and schema as the event store",
        );
      }
    }
    this.#appends = new PostgresAppends({
      db: this.#db,
      clock: options.clock ?? systemClock,
      commandLog: this.commandLog,
      inline: options.inlineProjections,
      committed: (last, results) => {
        if (last > this.#ownLast) this.#ownLast = last;
        for (const result of results) {
          for (const event of result.events) {
            if (!event.tags) continue;
            // Bounded: a forgotten tag only means a read that does not wait.
            if (this.#ownTagged.size >= 10_000) this.#ownTagged.clear();
            for (const tag of event.tags) this.#ownTagged.set(tag, event.position);
          }
        }
        this.#wakeUps.committed();
      },
    });
  }

  /** Appends events to one stream, checking its expected version. */
  async appendToStream<E extends Event = Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions = {},
  ): Promise<AppendResult<E>> {
    const [result] = await this.#appends.append<E>([{
      streamId,
      events,
      expectedVersion: options.expectedVersion,
    }], options);
    return result;
  }

  /** Appends to several streams in one transaction. */
  appendToStreams<E extends Event = Event>(
    appends: readonly StreamAppend<E>[],
    options: Omit<AppendOptions, "expectedVersion"> = {},
  ): Promise<AppendResult<E>[]> {
    return this.#appends.append(appends, options);
  }

  /** Reads one stream's events. */
  async readStream<E extends Event = Event>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    assertValidStreamId(streamId);
    assertValidReadStreamOptions(options);
    await this.#db.ready();
    return await selectStream<E>(this.#db.sql, this.#db.schema, streamId, options);
  }

  /**
   * Reads the events matching `query` in global order, and the head to
   * condition an append on. Like `readAll`, it reads only what no
   * transaction still running can precede. An append's condition may use
   * any query; one with an item without tags, or `"all"`, holds off every
   * other append while it commits (see `tag_locks.ts`).
   */
  async readQuery<E extends Event = Event>(
    query: EventQuery,
    options: ReadQueryOptions = {},
  ): Promise<QueryResult<E>> {
    assertValidEventQuery(query);
    assertValidReadQueryOptions(options);
    await this.#db.ready();
    options.signal?.throwIfAborted();
    // A read waits for this store's own last commit the query may match
    // (found by each item's first tag; any, for an item without tags).
    const own = query === "all" || query.some((item) => !item.tags)
      ? this.#ownLast
      : Math.max(0, ...query.map((item) => this.#ownTagged.get(item.tags![0]) ?? 0));
    return await selectQuery<E>(
      this.#db.sql,
      this.#db.schema,
      query,
      options.after ?? 0,
      own,
    );
  }

  /** Reads events by id, in the order given; unknown ids are left out. */
  async readEvents<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]> {
    await this.#db.ready();
    if (ids.length === 0) return [];
    const byId = await selectByIds<E>(this.#db.sql, this.#db.schema, ids);
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Reads events in global order after a position — only those of
   * transactions older than every transaction still running, so none can
   * commit behind the reader later.
   */
  async readAll<E extends Event = Event>(
    options: ReadAllOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    assertValidReadAllOptions(options);
    await this.#db.ready();
    return await selectAll<E>(
      this.#db.sql,
      this.#db.schema,
      options.after ?? 0,
      options.limit ?? Infinity,
      this.#ownLast,
    );
  }

  /** The stream's current version (0 when it has no events). */
  async streamVersion(streamId: string): Promise<number> {
    assertValidStreamId(streamId);
    await this.#db.ready();
    return await headVersion(this.#db.sql, this.#db.schema, streamId);
  }

  /**
   * Resolves once events after `position` may exist: at once when they do,
   * else when this store commits an append, when a NOTIFY from another
   * process's append arrives, or when `signal` aborts. Events committed but
   * held back by an older transaction still open (readers stay below its
   * horizon) are looked for again shortly — 5 ms, doubling to 500 ms while
   * they stay held — as their release sends no NOTIFY.
   */
  waitForEvents(position: number, signal: AbortSignal): Promise<void> {
    // A wait keeps the process alive, as a call in flight does.
    return whileActive(this.#db.sql, () => this.#waitForEvents(position, signal));
  }

  async #waitForEvents(position: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#db.closed) return;
    await this.#db.ready();
    await this.#wakeUps.wait(position, signal);
  }

  /** Closes the store (and the pool, when it owns it). */
  async close(): Promise<void> {
    await this.#db.close(() => this.#wakeUps.close());
  }
}
