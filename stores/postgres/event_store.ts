/**
 * The PostgreSQL event store.
 *
 * @module
 */

import { guardDriverCrash } from "./driver_guard.ts";
import {
  DEFAULT_CALL_TIMEOUT_MS,
  guardedSql,
  PostgresCallTimeoutError,
} from "./guard.ts";
import type { Sql, TransactionSql } from "postgres";

/** A pool or a transaction: where a statement runs. */
type Queryable = Sql | TransactionSql;
import {
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type Clock,
  CommandAlreadyRecordedError,
  type CommandRecord,
  CommitUnknownError,
  ConcurrencyError,
  type Event,
  EventDecodeError,
  type EventStore,
  type ExpectedVersion,
  type InlineProjections,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  StoreClosedError,
  type StreamAppend,
  systemClock,
} from "../../mod.ts";
import {
  assertStreamSequence,
  assertValidProjections,
  assertValidReadAllOptions,
  assertValidReadStreamOptions,
  assertValidStreamId,
  checkAppends,
  checkExpectedVersion,
  planAppend,
  retriedAppend,
  storedEventProblem,
  toProjectedEvent,
} from "../../src/store_kit/mod.ts";
import type { PostgresCommandLog } from "./command_log.ts";
import type { PostgresDocumentStore } from "./document_store.ts";
import { commandRecordColumns, recordCasts, recordParameters } from "./command_rows.ts";
import { migrate, PER_TRANSACTION } from "./schema.ts";
import { ThrottledSignal } from "../../src/store_kit/throttled_signal.ts";
import { whileActive } from "./idle_exit.ts";

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
   * The longest a call may take, in milliseconds (default 30,000): one
   * that has not settled by then fails (for an append, with a
   * `CommitUnknownError`) instead of waiting for ever on a connection whose
   * backend is gone.
   */
  readonly callTimeoutMs?: number;
}

interface EventRow {
  position: number;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: unknown;
  /** SQL NULL in the data column (JSON null reads as null too, with this false). */
  no_data: boolean;
  metadata: unknown;
  created_at: Date;
}

const UNIQUE_VIOLATION = "23505";
const EVENT_COLUMNS =
  "position::float8 as position, event_id, stream_id, version::float8 as version, type, data, data is null as no_data, metadata, created_at";

type Mode = "any" | "create" | "exact" | "exists";

function modeOf(expected: ExpectedVersion): Mode {
  if (expected === "any") return "any";
  if (expected === "no_stream" || expected === 0) return "create";
  if (expected === "stream_exists") return "exists";
  return "exact";
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
  readonly #sql: Sql;
  /** The pool as given: what `sharesDatabase` compares. */
  readonly #raw: Sql;
  readonly #schema: string;
  readonly #ownsSql: boolean;
  readonly #clock: Clock;
  readonly #statements = new Map<string, string>();
  readonly #waiters = new Set<() => void>();
  readonly #inline?: InlineProjections<PostgresDocumentStore>;
  /** Results of appends resent with known event ids: nothing was written. */
  readonly #replayed = new WeakSet<AppendResult>();
  #listening?: Promise<{ unlisten(): Promise<void> }>;
  readonly #notifications: ThrottledSignal;
  /** Waits in a row that found committed events held back by an older transaction. */
  #heldBack = 0;
  /** The position of the last event this store committed: its reads wait for it. */
  #ownLast = 0;
  #closed = false;

  /** Creates a store on a postgres.js connection pool. */
  constructor(sql: Sql, options: PostgresEventStoreOptions = {}) {
    this.#raw = sql;
    guardDriverCrash();
    this.#sql = guardedSql(sql, options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    this.#schema = options.schema ?? "verdict";
    this.#ownsSql = options.ownsSql ?? false;
    this.#clock = options.clock ?? systemClock;
    // Sent without waiting for the WAL flush: a wake-up needs no durability.
    this.#notifications = new ThrottledSignal(
      "notifyInterval",
      options.notifyInterval ?? 10,
      () =>
        this.#sql.unsafe(
          "select set_config('synchronous_commit', 'off', true), pg_notify($1, '')",
          [this.#channel],
        ),
    );
    this.commandLog = options.commandLog;
    if (this.commandLog && !this.commandLog.sharesDatabase(sql, this.#schema)) {
      throw new TypeError(
        "The command log must use the same connection pool and schema as the event store",
      );
    }
    if (options.inlineProjections) {
      assertValidProjections(options.inlineProjections.projections);
      if (!options.inlineProjections.store.sharesDatabase(sql, this.#schema)) {
        throw new TypeError(
          "The inline projections' store must use the same connection pool and schema as the event store",
        );
      }
      this.#inline = options.inlineProjections;
    }
  }

  /** The NOTIFY channel appends signal on. */
  get #channel(): string {
    return `verdict_${this.#schema}`;
  }

  async #ready(): Promise<void> {
    if (this.#closed) throw new StoreClosedError("PostgreSQL event store");
    await migrate(this.#sql, this.#schema);
  }

  /** The append statement for one mode, with or without a command record. */
  #appendStatement(mode: Mode, withRecord: boolean): string {
    const name = `${mode}:${withRecord}`;
    let text = this.#statements.get(name);
    if (text) return text;
    const s = this.#schema;
    // Every parameter is typed once, in `p`, whichever of them a mode uses.
    const head = {
      any: `insert into ${s}.streams (stream_id, version) select stream_id, count from p
            on conflict (stream_id) do update set version = ${s}.streams.version + excluded.version
            returning version`,
      // A head at version 0 is a stream that a read-only dependency locked
      // before it existed (see #checkOnly): it still counts as no stream.
      create:
        `insert into ${s}.streams (stream_id, version) select stream_id, count from p
               on conflict (stream_id) do update set version = excluded.version
               where ${s}.streams.version = 0 returning version`,
      exact: `update ${s}.streams set version = version + p.count from p
              where ${s}.streams.stream_id = p.stream_id and ${s}.streams.version = p.expected
              returning ${s}.streams.version`,
      exists: `update ${s}.streams set version = version + p.count from p
               where ${s}.streams.stream_id = p.stream_id and ${s}.streams.version > 0
               returning ${s}.streams.version`,
    }[mode];
    const record = withRecord
      ? `, record as (
          insert into ${s}.commands (${commandRecordColumns})
          select ${recordCasts.map((cast, i) => `$${10 + i}::${cast}`).join(", ")}
          from head
          returning id
        )`
      : "";
    text = `
      with p as (
        select $1::text as stream_id, $2::bigint as count, $3::bigint as expected,
               $8::timestamptz as created_at, $9::bigint as first_index
      ),
      head as (${head}),
      inserted as (
        insert into ${s}.events
          (position, transaction_id, event_id, stream_id, version, type, data, metadata, created_at)
        select pg_current_xact_id()::text::bigint * ${PER_TRANSACTION} + p.first_index + e.ord - 1,
               pg_current_xact_id(), e.id, p.stream_id, head.version - p.count + e.ord, e.type,
               e.data::jsonb, e.metadata::jsonb, p.created_at
        from p, head,
             unnest($4::text[], $5::text[], $6::text[], $7::text[])
               with ordinality as e(id, type, data, metadata, ord)
        returning position
      )${record}
      select (select version from head)::float8 as version,
             (select min(position) from inserted)::float8 as first_position
    `;
    this.#statements.set(name, text);
    return text;
  }

  /** Appends events to one stream, checking its expected version. */
  async appendToStream<E extends Event = Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options: AppendOptions = {},
  ): Promise<AppendResult<E>> {
    const [result] = await this.#append<E>([{
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
    return this.#append(appends, options);
  }

  async #append<E extends Event>(
    given: readonly StreamAppend<E>[],
    options: Pick<AppendOptions, "commandRecord" | "signal">,
  ): Promise<AppendResult<E>[]> {
    const appends = checkAppends(given, {
      commandRecord: options.commandRecord,
      commandLog: this.commandLog,
    }).appends as readonly StreamAppend<E>[];
    for (const append of appends) {
      if (append.events.length >= PER_TRANSACTION) {
        throw new RangeError(`An append holds at most ${PER_TRANSACTION - 1} events`);
      }
    }
    await this.#ready();

    options.signal?.throwIfAborted();
    const timestamp = new Date(this.#clock.now());
    const { ids, record } = planAppend(appends, options);
    const writing = appends.filter((a) => a.events.length > 0);

    try {
      if (
        writing.length <= 1 && appends.length <= 1 &&
        !(this.#inline && writing.length > 0)
      ) {
        const [append] = appends;
        if (!append) return [];
        if (append.events.length === 0) return [await this.#checkOnly(this.#sql, append)];
        const result = await this.#appendOne<E>(
          this.#sql,
          append,
          ids[0],
          0,
          timestamp,
          record,
        );
        this.#committed([result]);
        return [result];
      }
      // Positions follow the order given (each stream's offset in the
      // transaction), but the stream rows are locked in one fixed order —
      // by stream id — so two appends over the same streams given in
      // opposite orders (transfers A→B and B→A) queue instead of deadlocking.
      const offsets: number[] = [];
      appends.reduce((offset, append, s) => {
        offsets[s] = offset;
        return offset + append.events.length;
      }, 0);
      const lockOrder = appends.map((_, s) => s).sort((a, b) =>
        appends[a].streamId < appends[b].streamId ? -1 : 1
      );
      const results = await this.#sql.begin(async (tx) => {
        const results: AppendResult<E>[] = [];
        for (const s of lockOrder) {
          const append = appends[s];
          results[s] = append.events.length === 0
            ? await this.#checkOnly(tx, append, true)
            : await this.#appendOne(
              tx,
              append,
              ids[s],
              offsets[s],
              timestamp,
              // The record goes with the first stream that writes.
              append === writing[0] ? record : undefined,
            );
        }
        if (this.#inline && writing.length > 0) {
          await this.#inline.store.projectInTransaction(
            tx,
            this.#inline.projections,
            // A resent append answered with the first result wrote nothing new.
            results.filter((result) => !this.#replayed.has(result))
              .flatMap((result) => result.events.map(toProjectedEvent)),
          );
        }
        return results;
      }) as AppendResult<E>[];
      if (writing.length > 0) this.#committed(results);
      return results;
    } catch (error) {
      // The connection went, or the call never answered: it may have committed.
      if (commitMayBeUnknown(error)) {
        throw new CommitUnknownError("PostgreSQL event store", error);
      }
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        const constraint = String(
          (error as { constraint_name?: string }).constraint_name,
        );
        if (constraint.includes("event_id")) {
          const retried = await this.#retried<E>(appends);
          if (retried) return retried;
        }
        if (record && constraint.startsWith("commands")) {
          // A resend of an append that committed: its first result.
          if (appends.some((append) => append.events.some((e) => e.id !== undefined))) {
            const retried = await this.#retried<E>(appends);
            if (retried) return retried;
          }
          // A retry of a command that failed: its failed record gives way.
          if (await this.commandLog!.deleteFailed(record.id)) {
            return await this.#append(appends, options);
          }
          throw new CommandAlreadyRecordedError(
            record.id,
            await this.commandLog!.get(record.id),
            { cause: error },
          );
        }
      }
      throw error;
    }
  }

  /**
   * After an append committed: remembers its last position (this store's
   * reads wait for it) and tells followers — the ones in this process at
   * once, the ones in other processes through a NOTIFY. The NOTIFY is sent
   * after the commit, on its own — inside the append it would make every
   * committing transaction queue on PostgreSQL's notification lock — and
   * throttled to one per `notifyInterval`, so a busy writer does not pay a
   * second statement per append.
   */
  #committed(results: readonly AppendResult[]): void {
    for (const result of results) {
      const last = result.events.at(-1)?.position;
      if (last !== undefined && last > this.#ownLast && !this.#replayed.has(result)) {
        this.#ownLast = last;
      }
    }
    this.#wakeWaiters();
    this.#notifications.request();
  }

  #wakeWaiters(): void {
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /**
   * A stream the append only reads: its expected version is checked and,
   * inside a transaction (`lock`), must still hold when it commits. The
   * head row is locked `for share`, so a writer of that stream waits for
   * this commit, and a wait for a writer ends by seeing its version. A
   * stream expected not to exist gets a head at version 0, locked the same
   * way, so nobody can create it before this commit either.
   */
  async #checkOnly<E extends Event>(
    sql: Queryable,
    append: StreamAppend<E>,
    lock = false,
  ): Promise<AppendResult<E>> {
    const expected = append.expectedVersion ?? "any";
    const actual = lock && expected !== "any"
      ? await this.#lockedVersion(sql, append.streamId, expected)
      : await this.#version(sql, append.streamId);
    checkExpectedVersion(append.streamId, expected, actual);
    return { streamId: append.streamId, nextExpectedVersion: actual, events: [] };
  }

  async #lockedVersion(
    sql: Queryable,
    streamId: string,
    expected: ExpectedVersion,
  ): Promise<number> {
    const s = this.#schema;
    const [row] = await sql.unsafe<{ version: number }[]>(
      `select version::float8 as version from ${s}.streams where stream_id = $1 for share`,
      [streamId],
      { prepare: true },
    );
    if (row || (expected !== "no_stream" && expected !== 0)) return row?.version ?? 0;
    // No head yet: make one at version 0 and hold it (the no-op update locks
    // a head that a concurrent writer created meanwhile).
    const [created] = await sql.unsafe<{ version: number }[]>(
      `insert into ${s}.streams (stream_id, version) values ($1, 0)
       on conflict (stream_id) do update set version = ${s}.streams.version
       returning version::float8 as version`,
      [streamId],
      { prepare: true },
    );
    return created.version;
  }

  async #appendOne<E extends Event>(
    sql: Queryable,
    append: StreamAppend<E>,
    ids: readonly string[],
    offset: number,
    timestamp: Date,
    record: CommandRecord | undefined,
  ): Promise<AppendResult<E>> {
    const expected = append.expectedVersion ?? "any";
    const count = append.events.length;
    const parameters: unknown[] = [
      append.streamId,
      count,
      typeof expected === "number" ? expected : null,
      ids,
      append.events.map((event) => event.type),
      append.events.map((event) => toJson(event.data, "data", append.streamId)),
      append.events.map((event) =>
        toJson(event.metadata ?? {}, "metadata", append.streamId)
      ),
      timestamp,
      offset,
    ];
    if (record) parameters.push(...recordParameters(record));
    const [row] = await sql.unsafe<{ version: number | null; first_position: number }[]>(
      this.#appendStatement(modeOf(expected), record !== undefined),
      parameters as never[],
      { prepare: true },
    );
    if (row.version === null) {
      // The head did not move. A resend of events already stored is answered
      // with the first result; otherwise the expectation failed: report the
      // real version.
      if (append.events.some((event) => event.id !== undefined)) {
        const retried = await this.#retried([append]);
        if (retried) {
          this.#replayed.add(retried[0]);
          return retried[0];
        }
      }
      const actual = await this.#version(sql, append.streamId);
      checkExpectedVersion(append.streamId, expected, actual);
      throw new ConcurrencyError(append.streamId, expected, actual);
    }
    const first = row.version - count;
    return {
      streamId: append.streamId,
      nextExpectedVersion: row.version,
      events: append.events.map((event, e) => ({
        ...event,
        id: ids[e],
        metadata: event.metadata ?? {},
        streamId: append.streamId,
        version: first + e + 1,
        position: row.first_position + e,
        timestamp,
      } as RecordedEvent<E>)),
    };
  }

  /**
   * The first result again when every event is stored under its id as sent;
   * `undefined` when none of the ids is stored; an error in between.
   */
  async #retried<E extends Event>(
    appends: readonly StreamAppend<E>[],
  ): Promise<AppendResult<E>[] | undefined> {
    const given = appends.flatMap((a) => a.events.map((e) => e.id));
    const rows = await this.#sql.unsafe<EventRow[]>(
      `select ${EVENT_COLUMNS} from ${this.#schema}.events where event_id = any($1::text[])`,
      [given.filter((id) => id !== undefined)] as never[],
    );
    const byId = new Map(rows.map((row) => [row.event_id, decode<E>(row)]));
    return retriedAppend(appends, (id) => byId.get(id));
  }

  async #version(sql: Queryable, streamId: string): Promise<number> {
    const rows = await sql.unsafe<{ version: number }[]>(
      `select version::float8 as version from ${this.#schema}.streams where stream_id = $1`,
      [streamId],
      { prepare: true },
    );
    return rows[0]?.version ?? 0;
  }

  /** Reads one stream's events. */
  async readStream<E extends Event = Event>(
    streamId: string,
    options: ReadStreamOptions = {},
  ): Promise<RecordedEvent<E>[]> {
    assertValidStreamId(streamId);
    assertValidReadStreamOptions(options);
    await this.#ready();
    const backward = options.direction === "backward";
    const rows = await this.#sql.unsafe<EventRow[]>(
      `select ${EVENT_COLUMNS} from ${this.#schema}.events
       where stream_id = $1 and events.version ${backward ? "<=" : ">="} $2
       order by events.version ${backward ? "desc" : "asc"} limit $3`,
      [
        streamId,
        options.from ?? (backward ? Number.MAX_SAFE_INTEGER : 1),
        options.limit ?? null,
      ] as never[],
      { prepare: true },
    );
    const events = rows.map((row) => decode<E>(row));
    const from = options.from ?? 1;
    assertStreamSequence(events, streamId, from, backward ? "backward" : "forward");
    return events;
  }

  /** Reads events by id, in the order given; unknown ids are left out. */
  async readEvents<E extends Event = Event>(
    ids: readonly string[],
  ): Promise<RecordedEvent<E>[]> {
    await this.#ready();
    if (ids.length === 0) return [];
    const rows = await this.#sql.unsafe<EventRow[]>(
      `select ${EVENT_COLUMNS} from ${this.#schema}.events where event_id = any($1::text[])`,
      [ids] as never[],
    );
    const byId = new Map(rows.map((row) => [row.event_id, decode<E>(row)]));
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
    await this.#ready();
    const limit = options.limit ?? Infinity;
    // Readers stay below the oldest open transaction, so an append this
    // store committed can be held back by another writer's transaction
    // begun before it. Read your own writes: wait for them, briefly.
    const own = this.#ownLast;
    const deadline = performance.now() + OWN_WRITES_WAIT_MS;
    const rows: EventRow[] = [];
    let after = options.after ?? 0;
    for (let pause = 1;; pause = Math.min(pause * 2, 50)) {
      const page = await this.#sql.unsafe<EventRow[]>(
        readAllQuery(this.#schema),
        [after, Number.isFinite(limit) ? limit - rows.length : null] as never[],
        { prepare: true },
      );
      rows.push(...page);
      after = rows.at(-1)?.position ?? after;
      if (rows.length >= limit || after >= own || performance.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    return rows.map((row) => decode<E>(row));
  }

  /** The stream's current version (0 when it has no events). */
  async streamVersion(streamId: string): Promise<number> {
    assertValidStreamId(streamId);
    await this.#ready();
    return await this.#version(this.#sql, streamId);
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
    return whileActive(this.#sql, () => this.#waitForEvents(position, signal));
  }

  async #waitForEvents(position: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return;
    await this.#ready();
    this.#listening ??= this.#sql.listen(this.#channel, () => this.#wakeWaiters());
    await this.#listening;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    this.#waiters.add(wake);
    signal.addEventListener("abort", wake, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const [{ readable, committed }] = await this.#sql.unsafe<
        { readable: boolean; committed: boolean }[]
      >(waitQuery(this.#schema), [position] as never[], { prepare: true });
      if (readable) {
        this.#heldBack = 0;
        return;
      }
      if (committed) {
        timer = setTimeout(wake, Math.min(5 * 2 ** this.#heldBack++, 500));
      } else this.#heldBack = 0;
      await woken;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(wake);
      signal.removeEventListener("abort", wake);
    }
  }

  /** Closes the store (and the pool, when it owns it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeWaiters();
    // The last appends' NOTIFY goes out before the pool can end.
    await this.#notifications.close();
    const listening = this.#listening;
    if (listening) await (await listening).unlisten().catch(() => {});
    if (this.#ownsSql) await this.#sql.end();
  }
}

function toJson(value: unknown, what: string, streamId: string): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(
      `Event ${what} for stream "${streamId}" is not JSON-serializable`,
    );
  }
  // jsonb cannot hold the NUL character; say so instead of a driver error.
  if (text.includes("\\u0000")) {
    throw new TypeError(
      `Event ${what} for stream "${streamId}" contains a NUL character (\\u0000), which PostgreSQL jsonb cannot store`,
    );
  }
  return text;
}

function decode<E extends Event>(row: EventRow): RecordedEvent<E> {
  const problem = storedEventProblem({
    id: row.event_id,
    type: row.type,
    data: row.no_data ? undefined : row.data,
    metadata: row.metadata,
    version: row.version,
  });
  if (problem !== undefined) {
    throw new EventDecodeError(row.position, row, problem, {
      streamId: row.stream_id,
      version: row.version,
    });
  }
  return {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    version: row.version,
    position: row.position,
    timestamp: row.created_at,
  } as RecordedEvent<E>;
}

/**
 * The readers' horizon: positions of transactions older than the oldest one
 * still running.
 */
const BELOW_HORIZON =
  `events.position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * ${PER_TRANSACTION}`;

/**
 * Whether a reader after `$1` finds an event now (`readable`), and whether
 * one is committed at all (`committed`): committed but not readable means an
 * older transaction still open holds it back.
 */
function waitQuery(schema: string): string {
  return `select
    exists(select 1 from ${schema}.events where events.position > $1 and ${BELOW_HORIZON})
      as readable,
    exists(select 1 from ${schema}.events where events.position > $1) as committed`;
}

/**
 * How long `readAll` waits for this store's own committed appends that an
 * older open transaction holds back, before it returns what is readable.
 */
const OWN_WRITES_WAIT_MS = 1_000;

/**
 * The SQL of `readAll`: events after `$1` of transactions older than the
 * oldest one still running, in position order, at most `$2`.
 */
export function readAllQuery(schema: string): string {
  // Ordered by the column, not by the float8 alias of the select list, so
  // the primary key serves the order.
  return `select ${EVENT_COLUMNS} from ${schema}.events
    where events.position > $1 and ${BELOW_HORIZON}
    order by events.position limit $2`;
}

/**
 * Errors after which an append's commit cannot be known: a lost or refused
 * connection (postgres.js's own codes), a terminated backend or a server
 * shutting down (SQLSTATE class 08 and 57P0x), or a call past its deadline.
 */
function commitMayBeUnknown(error: unknown): boolean {
  if (error instanceof PostgresCallTimeoutError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return code.startsWith("CONNECTION_") || code === "CONNECT_TIMEOUT" ||
    code.startsWith("08") || /^57P0[1-3]$/.test(code) ||
    code === "ECONNRESET" || code === "ECONNREFUSED" || code === "EPIPE";
}
