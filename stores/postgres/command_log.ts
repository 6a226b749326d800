/**
 * The PostgreSQL command log.
 *
 * @module
 */

import type { Sql } from "postgres";
import {
  CommandAlreadyRecordedError,
  type CommandLogStore,
  type CommandPage,
  type CommandQuery,
  type CommandRecord,
} from "../../mod.ts";
import {
  assertValidCommandRecord,
  commandQueryLimit,
  decodeCommandCursor,
  encodeCommandCursor,
  retriedRecord,
} from "../../src/store_kit/mod.ts";
import { SchemaHandle } from "./schema_handle.ts";
import {
  commandRecordColumns,
  type CommandRow,
  recordCasts,
  recordOfRow,
  recordParameters,
} from "./command_rows.ts";

/**
 * Options of {@linkcode PostgresCommandLog}.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { PostgresCommandLog, type PostgresCommandLogOptions } from "@verdict/verdict/postgres";
 *
 * const options: PostgresCommandLogOptions = { schema: "billing", ownsSql: true };
 * const log = new PostgresCommandLog(postgres("postgres://app@127.0.0.1/app"), options);
 * await log.close();
 * ```
 */
export interface PostgresCommandLogOptions {
  /** The schema (default `"verdict"`); use the event store's for atomic audit. */
  readonly schema?: string;
  /** Close the connection pool when the log closes (default false). */
  readonly ownsSql?: boolean;
  /**
   * The longest a call may take, in milliseconds (default 30,000): one
   * that has not settled by then fails (for an append, with a
   * `CommitUnknownError`) instead of waiting for ever on a connection whose
   * backend is gone.
   */
  readonly callTimeoutMs?: number;
}

const UNIQUE_VIOLATION = "23505";
const COLUMNS =
  "id, correlation_id, causation_id, command_type, payload_text, payload_bytes, payload_codec, metadata, status, error, event_ids, stream_ids, duration_ms, recorded_at";

/**
 * A command log on PostgreSQL: one row per command, indexed by time, by
 * correlation and by type (each index ends in `(recorded_at, id)`, the page
 * order). Give it to a `PostgresEventStore` on the same pool and schema as
 * `commandLog` and an accepted command's record is inserted by the same
 * statement as its events.
 *
 * @example
 * ```ts ignore
 * import postgres from "postgres";
 * import { PostgresCommandLog } from "@verdict/verdict/postgres";
 *
 * const log = new PostgresCommandLog(postgres(Deno.env.get("DATABASE_URL")!), {
 *   schema: "bank",
 *   ownsSql: true,
 * });
 * const trail = await log.findByCorrelation("request-42");
 * await log.close();
 * ```
 */
export class PostgresCommandLog implements CommandLogStore {
  readonly #db: SchemaHandle;

  /** Creates a log on a postgres.js connection pool. */
  constructor(sql: Sql, options: PostgresCommandLogOptions = {}) {
    this.#db = new SchemaHandle(sql, options, "PostgreSQL command log");
  }

  /** Whether this log writes through `sql` into `schema` (so an event store there can commit with it). */
  sharesDatabase(sql: Sql, schema: string): boolean {
    return this.#db.shares(sql, schema);
  }

  /** Stores a record. */
  async record(record: CommandRecord): Promise<void> {
    assertValidCommandRecord(record);
    await this.#db.ready();
    try {
      await this.#db.sql.unsafe(
        `insert into ${this.#db.schema}.commands (${commandRecordColumns})
         values (${recordCasts.map((cast, i) => `$${i + 1}::${cast}`).join(", ")})`,
        recordParameters(record) as never[],
        { prepare: true },
      );
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      // A failed command wrote nothing: a retry's record replaces its record.
      const existing = await this.get(record.id);
      const replacing = existing && retriedRecord(existing, record);
      if (!replacing || !await this.replaceFailed(replacing)) {
        throw new CommandAlreadyRecordedError(record.id, existing, { cause: error });
      }
    }
  }

  /**
   * Replaces the failed record of `record.id` with `record`; false when
   * there is no failed record of that id (any more) to replace.
   */
  async replaceFailed(record: CommandRecord): Promise<boolean> {
    await this.#db.ready();
    const p = recordParameters(record);
    const rows = await this.#db.sql.unsafe(
      `update ${this.#db.schema}.commands set causation_id = $2::text, payload_text = $3::text,
         payload_bytes = $4::bytea, payload_codec = $5::text, metadata = $6::jsonb,
         status = $7::text, error = $8::jsonb, event_ids = $9::text[], stream_ids = $10::text[],
         duration_ms = $11::float8
       where id = $1 and status = 'failed' returning id`,
      [p[0], p[2], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]] as never[],
    );
    return rows.length > 0;
  }

  /** Deletes the failed record of `id`, so an atomic retry can insert its own. */
  async deleteFailed(id: string): Promise<boolean> {
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe(
      `delete from ${this.#db.schema}.commands where id = $1 and status = 'failed' returning id`,
      [id],
    );
    return rows.length > 0;
  }

  /** The record with this id, or `undefined`. */
  async get(id: string): Promise<CommandRecord | undefined> {
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<CommandRow[]>(
      `select ${COLUMNS} from ${this.#db.schema}.commands where id = $1`,
      [id],
      { prepare: true },
    );
    return rows[0] && recordOfRow(rows[0]);
  }

  /** The records with these ids, in order; `undefined` where there is none: one query. */
  async getMany(ids: readonly string[]): Promise<(CommandRecord | undefined)[]> {
    await this.#db.ready();
    if (ids.length === 0) return [];
    const rows = await this.#db.sql.unsafe<CommandRow[]>(
      `select ${COLUMNS} from ${this.#db.schema}.commands where id = any($1::text[])`,
      [ids as string[]],
      { prepare: true },
    );
    const byId = new Map(rows.map((row) => [row.id, recordOfRow(row)]));
    return ids.map((id) => byId.get(id));
  }

  /** Every record of one correlation, in timestamp order. */
  async findByCorrelation(correlationId: string): Promise<CommandRecord[]> {
    await this.#db.ready();
    const rows = await this.#db.sql.unsafe<CommandRow[]>(
      `select ${COLUMNS} from ${this.#db.schema}.commands
       where correlation_id = $1 order by recorded_at, id`,
      [correlationId],
      { prepare: true },
    );
    return rows.map(recordOfRow);
  }

  /** Records of one command type, paged. */
  findByType(type: string, query: CommandQuery = {}): Promise<CommandPage> {
    return this.#page(type, query);
  }

  /** All records, paged. */
  list(query: CommandQuery = {}): Promise<CommandPage> {
    return this.#page(undefined, query);
  }

  async #page(
    type: string | undefined,
    query: CommandQuery,
  ): Promise<CommandPage> {
    const limit = commandQueryLimit(query);
    const cursor = query.cursor === undefined
      ? undefined
      : decodeCommandCursor(query.cursor);
    await this.#db.ready();
    const statuses = query.status === undefined
      ? undefined
      : typeof query.status === "string"
      ? [query.status]
      : [...query.status];
    const { text, parameters } = commandPageQuery(this.#db.schema, {
      type,
      cursor,
      since: query.since,
      before: query.before,
      statuses,
      limit: limit + 1,
    });
    const rows = await this.#db.sql.unsafe<CommandRow[]>(text, parameters as never[], {
      prepare: true,
    });
    const records = rows.slice(0, limit).map(recordOfRow);
    if (rows.length <= limit) return { records };
    const last = records[records.length - 1];
    return {
      records,
      nextCursor: encodeCommandCursor({
        timestamp: last.timestamp.getTime(),
        id: last.id,
      }),
    };
  }

  /** Closes the log (and the pool, when it owns it). */
  async close(): Promise<void> {
    await this.#db.close();
  }
}

/** What a page of the command log is asked for. */
interface PageFilter {
  readonly type?: string;
  readonly cursor?: { timestamp: number; id: string };
  readonly since?: Date;
  readonly before?: Date;
  readonly statuses?: readonly string[];
  readonly limit: number;
}

/**
 * The SQL of one page, with only the conditions the query has: a condition
 * like `($1 is null or …)` would keep a prepared statement's generic plan
 * off the indexes.
 */
export function commandPageQuery(
  schema: string,
  filter: PageFilter,
): { text: string; parameters: unknown[] } {
  const conditions: string[] = [];
  const parameters: unknown[] = [];
  const parameter = (value: unknown, cast: string) => {
    parameters.push(value);
    return `$${parameters.length}::${cast}`;
  };
  if (filter.type !== undefined) {
    conditions.push(`command_type = ${parameter(filter.type, "text")}`);
  }
  if (filter.cursor) {
    conditions.push(
      `(recorded_at, id) > (${
        parameter(new Date(filter.cursor.timestamp), "timestamptz")
      }, ${parameter(filter.cursor.id, "text")})`,
    );
  }
  if (filter.since) {
    conditions.push(`recorded_at >= ${parameter(filter.since, "timestamptz")}`);
  }
  if (filter.before) {
    conditions.push(`recorded_at < ${parameter(filter.before, "timestamptz")}`);
  }
  if (filter.statuses) {
    conditions.push(`status = any(${parameter(filter.statuses, "text[]")})`);
  }
  const where = conditions.length ? `where ${conditions.join(" and ")}` : "";
  return {
    text: `select ${COLUMNS} from ${schema}.commands ${where}
           order by recorded_at, id limit ${parameter(filter.limit, "int")}`,
    parameters,
  };
}
