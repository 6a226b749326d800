/**
 * The PostgreSQL event store's writes: the one statement of an append, its
 * parameters, the head-row reads of streams an append only checks, and
 * which errors may hide a commit.
 *
 * @module
 */

import type { Sql, TransactionSql } from "postgres";
import type {
  AppendCondition,
  CommandRecord,
  EventQueryItem,
  ExpectedVersion,
  StreamAppend,
} from "../../mod.ts";
import { commandRecordColumns, recordCasts, recordParameters } from "./command_rows.ts";
import { PostgresCallTimeoutError } from "./guard.ts";
import { PER_TRANSACTION } from "./schema.ts";

/** A pool or a transaction: where a statement runs. */
export type Queryable = Sql | TransactionSql;

/** PostgreSQL's unique_violation SQLSTATE. */
export const UNIQUE_VIOLATION = "23505";

type Mode = "any" | "create" | "exact" | "exists";

function modeOf(expected: ExpectedVersion): Mode {
  if (expected === "any") return "any";
  if (expected === "no_stream" || expected === 0) return "create";
  if (expected === "stream_exists") return "exists";
  return "exact";
}

const statements = new Map<string, string>();

/**
 * The append statement of one stream: a data-modifying CTE that moves the
 * stream's head row only if the expected version holds, inserts the events,
 * and — with a record — inserts the command record; one per schema, mode
 * and record, built once.
 */
export function appendStatement(
  schema: string,
  expected: ExpectedVersion,
  withRecord: boolean,
  withTags = false,
  withCondition = false,
): string {
  // A condition's statement has the tagged statement's parameters, and more.
  if (withCondition) withTags = true;
  const mode = modeOf(expected);
  const name = `${schema}:${mode}:${withRecord}:${withTags}:${withCondition}`;
  let text = statements.get(name);
  if (text) return text;
  const s = schema;
  // Every parameter is typed once, in `p`, whichever of them a mode uses.
  const head = {
    any: `insert into ${s}.streams (stream_id, version) select stream_id, count from p
          on conflict (stream_id) do update set version = ${s}.streams.version + excluded.version
          returning version`,
    // A head at version 0 is a stream that a read-only dependency locked
    // before it existed (see lockedVersion): it still counts as no stream.
    create: `insert into ${s}.streams (stream_id, version) select stream_id, count from p
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
  // Tagged events (issue #24): their tags' keys are locked, shared, before
  // anything is written (a conditional append locks the keys it watches
  // exclusively, so the two queue), and each tag is indexed by position.
  const t = 10 + (withRecord ? recordCasts.length : 0);
  const position =
    `pg_current_xact_id()::text::bigint * ${PER_TRANSACTION} + p.first_index + e.ord - 1`;
  // With a condition (issue #24), a function takes the condition's keys and
  // this append's own, then looks for a match (see tag_locks.ts): nothing is
  // written when it finds one, and the statement answers its position.
  const locks = withCondition
    ? `checked as materialized (
        select ${s}.condition_conflict($${t + 4}::text[], $${t + 1}::text[], $${
      t + 5
    }::text[], $${t + 6}::text::jsonb, $${t + 7}::bigint) as conflict
      ),`
    : withTags
    ? `locks as materialized (
        select pg_advisory_xact_lock_shared(h)
        from (select distinct hashtextextended(k, 0) as h from unnest($${
      t + 1
    }::text[]) k) keys
        order by h
      ),`
    : "";
  // The tag rows come as two flat arrays (tag, event ordinal): a plan over
  // them costs the same for any parameters, so PostgreSQL keeps one generic
  // plan instead of planning the statement at every append.
  const tagged = withTags
    ? `, tagged as (
        insert into ${s}.event_tags (tag, position)
        select e.tag, ${position}
        from p, head, unnest($${t + 2}::text[], $${t + 3}::bigint[]) as e(tag, ord)
      )`
    : "";
  text = `
    with ${locks} p as (
      select $1::text as stream_id, $2::bigint as count, $3::bigint as expected,
             $8::timestamptz as created_at, $9::bigint as first_index
      ${
    withCondition
      ? "from checked where checked.conflict is null"
      : withTags
      ? "from (select count(*) from locks) as locked"
      : ""
  }
    ),
    head as (${head}),
    inserted as (
      insert into ${s}.events
        (position, transaction_id, event_id, stream_id, version, type, data, metadata,
         created_at${withTags ? ", tags" : ""})
      select ${position},
             pg_current_xact_id(), e.id, p.stream_id, head.version - p.count + e.ord, e.type,
             e.data::jsonb, e.metadata::jsonb, p.created_at${
    withTags ? ", e.tags::jsonb" : ""
  }
      from p, head,
           unnest($4::text[], $5::text[], $6::text[], $7::text[]${
    withTags ? `, $${t}::text[]` : ""
  })
             with ordinality as e(id, type, data, metadata, ${
    withTags ? "tags, " : ""
  }ord)
      returning position
    )${record}${tagged}
    select (select version from head)::float8 as version,
           (select min(position) from inserted)::float8 as first_position${
    withCondition ? ", (select conflict from checked)::float8 as conflict" : ""
  }
  `;
  statements.set(name, text);
  return text;
}

/** The parameters of {@linkcode appendStatement}, in its order. */
export function appendParameters(
  schema: string,
  append: StreamAppend,
  ids: readonly string[],
  offset: number,
  timestamp: Date,
  record: CommandRecord | undefined,
  condition?: AppendCondition,
): never[] {
  const expected = append.expectedVersion ?? "any";
  const parameters: unknown[] = [
    append.streamId,
    append.events.length,
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
  if (hasTags(append) || condition) {
    const tags: string[] = [];
    const ordinals: number[] = [];
    append.events.forEach((event, e) => {
      for (const tag of new Set(event.tags)) {
        tags.push(tag);
        ordinals.push(e + 1);
      }
    });
    parameters.push(
      append.events.map((event) => event.tags ? JSON.stringify(event.tags) : null),
      tagLockKeys(schema, tags),
      tags,
      ordinals,
    );
  }
  if (condition) {
    // Only conditions whose items each name a tag take this statement.
    const items = condition.failIfEventsMatch as readonly EventQueryItem[];
    const firstTags = [...new Set(items.map((item) => item.tags![0]))];
    parameters.push(
      tagLockKeys(schema, firstTags),
      firstTags,
      JSON.stringify(items.map((item) => ({ types: item.types, tags: item.tags }))),
      condition.after,
    );
  }
  return parameters as never[];
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

/** A stream's version, 0 when it has no head. */
export async function headVersion(
  sql: Queryable,
  schema: string,
  streamId: string,
): Promise<number> {
  const rows = await sql.unsafe<{ version: number }[]>(
    `select version::float8 as version from ${schema}.streams where stream_id = $1`,
    [streamId],
    { prepare: true },
  );
  return rows[0]?.version ?? 0;
}

/**
 * A stream's version, its head row locked `for share` until the
 * transaction ends, so a writer of that stream waits for this commit. A
 * stream expected not to exist gets a head at version 0, locked the same
 * way, so nobody can create it before this commit either.
 */
export async function lockedVersion(
  sql: Queryable,
  schema: string,
  streamId: string,
  expected: ExpectedVersion,
): Promise<number> {
  const [row] = await sql.unsafe<{ version: number }[]>(
    `select version::float8 as version from ${schema}.streams where stream_id = $1 for share`,
    [streamId],
    { prepare: true },
  );
  if (row || (expected !== "no_stream" && expected !== 0)) return row?.version ?? 0;
  // No head yet: make one at version 0 and hold it (the no-op update locks
  // a head that a concurrent writer created meanwhile).
  const [created] = await sql.unsafe<{ version: number }[]>(
    `insert into ${schema}.streams (stream_id, version) values ($1, 0)
     on conflict (stream_id) do update set version = ${schema}.streams.version
     returning version::float8 as version`,
    [streamId],
    { prepare: true },
  );
  return created.version;
}

/**
 * Errors after which an append's commit cannot be known: a lost or refused
 * connection (postgres.js's own codes), a terminated backend or a server
 * shutting down (SQLSTATE class 08 and 57P0x), or a call past its deadline.
 */
export function commitMayBeUnknown(error: unknown): boolean {
  if (error instanceof PostgresCallTimeoutError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  return code.startsWith("CONNECTION_") || code === "CONNECT_TIMEOUT" ||
    code.startsWith("08") || /^57P0[1-3]$/.test(code) ||
    code === "ECONNRESET" || code === "ECONNREFUSED" || code === "EPIPE";
}

/** Whether an append's events carry tags: it then takes the tagged statement. */
export function hasTags(append: StreamAppend): boolean {
  return append.events.some((event) => event.tags !== undefined && event.tags.length > 0);
}

/** The advisory-lock keys of tags, distinct: what their writers and watchers lock. */
export function tagLockKeys(schema: string, tags: readonly string[]): string[] {
  return [...new Set(tags.map((tag) => `${schema}:tag:${tag}`))];
}
