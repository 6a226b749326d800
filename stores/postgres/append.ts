/**
 * The PostgreSQL event store's appends: one statement for one stream, a
 * transaction for several (or with inline projections), and what an error
 * means — a commit that may have happened, a resend, a retried command.
 *
 * @module
 */

import {
  type AppendCondition,
  AppendConditionError,
  type AppendOptions,
  type AppendResult,
  type Clock,
  CommandAlreadyRecordedError,
  type CommandRecord,
  CommitUnknownError,
  ConcurrencyError,
  type Event,
  type InlineProjections,
  type RecordedEvent,
  type StreamAppend,
} from "../../mod.ts";
import {
  checkAppends,
  checkExpectedVersion,
  planAppend,
  retriedAppend,
  toProjectedEvent,
} from "../../src/store_kit/mod.ts";
import {
  appendParameters,
  appendStatement,
  commitMayBeUnknown,
  hasTags,
  headVersion,
  lockedVersion,
  type Queryable,
  UNIQUE_VIOLATION,
} from "./append_statement.ts";
import type { PostgresCommandLog } from "./command_log.ts";
import {
  lockAndCheck,
  lockEventsTable,
  locksBeforeInserting,
  lockTags,
  watchesWholeLog,
} from "./tag_locks.ts";
import type { PostgresDocumentStore } from "./document_store.ts";
import { selectByIds } from "./event_reads.ts";
import { PER_TRANSACTION } from "./schema.ts";
import type { SchemaHandle } from "./schema_handle.ts";

/** What the appends of one event store work with. */
export interface PostgresAppendsOptions {
  /** The event store's pool and schema. */
  readonly db: SchemaHandle;
  readonly clock: Clock;
  readonly commandLog?: PostgresCommandLog;
  readonly inline?: InlineProjections<PostgresDocumentStore>;
  /**
   * After a commit, with the last position it wrote (0 when a resend wrote
   * none) and the results written.
   */
  committed(lastPosition: number, results: readonly AppendResult[]): void;
}

/** The appends of one PostgreSQL event store; see the module documentation. */
export class PostgresAppends {
  readonly #options: PostgresAppendsOptions;
  readonly #db: SchemaHandle;
  /** Results of appends resent with known event ids: nothing was written. */
  readonly #replayed = new WeakSet<AppendResult>();

  constructor(options: PostgresAppendsOptions) {
    this.#options = options;
    this.#db = options.db;
  }

  /** Appends to one or more streams, all or nothing. */
  async append<E extends Event>(
    given: readonly StreamAppend<E>[],
    options: Pick<AppendOptions, "commandRecord" | "signal" | "condition">,
  ): Promise<AppendResult<E>[]> {
    const appends = checkAppends(given, {
      commandRecord: options.commandRecord,
      commandLog: this.#options.commandLog,
      condition: options.condition,
      queries: true,
    }).appends as readonly StreamAppend<E>[];
    for (const append of appends) {
      if (append.events.length >= PER_TRANSACTION) {
        throw new RangeError(`An append holds at most ${PER_TRANSACTION - 1} events`);
      }
    }
    await this.#db.ready();

    const condition = options.condition;
    options.signal?.throwIfAborted();
    const timestamp = new Date(this.#options.clock.now());
    const { ids, record } = planAppend(appends, options);
    const writing = appends.filter((a) => a.events.length > 0);
    const tags = appends.some(hasTags);

    try {
      // One stream and no inline projections: one statement, also with a
      // condition on tag keys, which the statement takes and checks itself
      // (see tag_locks.ts). A whole-log condition needs a transaction.
      const single = writing.length <= 1 && appends.length <= 1 &&
        !(this.#options.inline && writing.length > 0);
      if (
        single &&
        (!condition || (!watchesWholeLog(condition) && writing.length === 1))
      ) {
        const [append] = appends;
        if (!append) return [];
        if (append.events.length === 0) {
          return [await this.#checkOnly(this.#db.sql, append)];
        }
        const result = await this.#appendOne<E>(
          this.#db.sql,
          append,
          ids[0],
          0,
          timestamp,
          record,
          condition,
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
      const results = await this.#db.sql.begin(async (tx) => {
        // The events table first, then the tag keys in key order (see
        // tag_locks.ts): a condition's exclusively, then its check; this
        // append's own shared. Stream rows come last. Each statement is sent
        // as it is called, and the server runs a connection's statements in
        // the order sent: all of this is one round trip.
        await Promise.all([
          locksBeforeInserting(appends, condition)
            ? lockEventsTable(tx, this.#db.schema, condition)
            : undefined,
          condition
            ? lockAndCheck(tx, this.#db.schema, condition, appends)
            : tags
            ? lockTags(tx, this.#db.schema, appends)
            : undefined,
        ]);
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
        if (this.#options.inline && writing.length > 0) {
          await this.#options.inline.store.projectInTransaction(
            tx,
            this.#options.inline.projections,
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
      // A resend of a conditional append that committed meets its own events.
      if (
        error instanceof AppendConditionError &&
        appends.some((append) => append.events.some((event) => event.id !== undefined))
      ) {
        const retried = await this.#retried<E>(appends);
        if (retried) return retried;
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
          if (await this.#options.commandLog!.deleteFailed(record.id)) {
            return await this.append(appends, options);
          }
          throw new CommandAlreadyRecordedError(
            record.id,
            await this.#options.commandLog!.get(record.id),
            { cause: error },
          );
        }
      }
      throw error;
    }
  }

  #committed(results: readonly AppendResult[]): void {
    let last = 0;
    for (const result of results) {
      const position = result.events.at(-1)?.position;
      if (position !== undefined && !this.#replayed.has(result)) {
        last = Math.max(last, position);
      }
    }
    this.#options.committed(
      last,
      results.filter((result) => !this.#replayed.has(result)),
    );
  }

  /**
   * A stream the append only reads: its expected version is checked and,
   * inside a transaction (`lock`), must still hold when it commits (see
   * `lockedVersion`).
   */
  async #checkOnly<E extends Event>(
    sql: Queryable,
    append: StreamAppend<E>,
    lock = false,
  ): Promise<AppendResult<E>> {
    const expected = append.expectedVersion ?? "any";
    const actual = lock && expected !== "any"
      ? await lockedVersion(sql, this.#db.schema, append.streamId, expected)
      : await headVersion(sql, this.#db.schema, append.streamId);
    checkExpectedVersion(append.streamId, expected, actual);
    return { streamId: append.streamId, nextExpectedVersion: actual, events: [] };
  }

  async #appendOne<E extends Event>(
    sql: Queryable,
    append: StreamAppend<E>,
    ids: readonly string[],
    offset: number,
    timestamp: Date,
    record: CommandRecord | undefined,
    condition?: AppendCondition,
  ): Promise<AppendResult<E>> {
    const expected = append.expectedVersion ?? "any";
    const count = append.events.length;
    const [row] = await sql.unsafe<
      { version: number | null; first_position: number; conflict?: number | null }[]
    >(
      appendStatement(
        this.#db.schema,
        expected,
        record !== undefined,
        hasTags(append),
        condition !== undefined,
      ),
      appendParameters(
        this.#db.schema,
        append,
        ids,
        offset,
        timestamp,
        record,
        condition,
      ),
      { prepare: true },
    );
    // The condition failed: nothing was written (a resend is answered by
    // the caller, which knows it by its ids).
    if (condition && row.conflict !== null && row.conflict !== undefined) {
      throw new AppendConditionError(row.conflict, condition.after);
    }
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
      const actual = await headVersion(sql, this.#db.schema, append.streamId);
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
    const ids = appends.flatMap((a) => a.events.map((e) => e.id));
    const stored = await selectByIds<E>(this.#db.sql, this.#db.schema, ids);
    return retriedAppend(appends, (id) => stored.get(id));
  }
}
