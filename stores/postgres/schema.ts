/**
 * The PostgreSQL schema of verdict's stores, created and migrated
 * idempotently by the stores themselves.
 *
 * @module
 */

import type { Sql } from "postgres";

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a schema name: lower-case letters, digits and underscores, starting
 * with a letter or underscore, at most 63 characters. Only such names are
 * ever put into SQL text; every value travels as a parameter.
 *
 * @throws {TypeError} for any other name.
 *
 * @example
 * ```ts
 * import { assertSchemaName } from "@verdict/verdict/postgres";
 * import assert from "node:assert/strict";
 *
 * assertSchemaName("billing_v2");
 * assert.throws(() => assertSchemaName('billing"; drop table x; --'), TypeError);
 * ```
 */
export function assertSchemaName(schema: string): void {
  if (typeof schema !== "string" || !IDENTIFIER.test(schema)) {
    throw new TypeError(
      `A schema name must match ${IDENTIFIER} (lower-case letters, digits, underscores), got ${
        JSON.stringify(schema)
      }`,
    );
  }
}

/**
 * Events per transaction fit below this: an event's position is its
 * transaction id times 65,536 plus its index in the transaction.
 */
export const PER_TRANSACTION = 65_536;

/** The migrations, in order; each runs once per schema. */
const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (s) => `
    create table ${s}.streams (
      stream_id text primary key,
      version bigint not null check (version >= 0)
    );
    create table ${s}.events (
      position bigint primary key,
      transaction_id xid8 not null,
      event_id text not null unique,
      stream_id text not null,
      version bigint not null,
      type text not null,
      data jsonb not null,
      metadata jsonb not null,
      created_at timestamptz not null,
      unique (stream_id, version)
    );
    create table ${s}.commands (
      id text primary key,
      correlation_id text not null,
      causation_id text,
      command_type text not null,
      payload_text text,
      payload_bytes bytea,
      payload_codec text not null,
      metadata jsonb not null,
      status text not null check (status in ('accepted', 'rejected', 'failed')),
      error jsonb,
      event_ids text[] not null,
      stream_ids text[] not null,
      duration_ms double precision not null,
      recorded_at timestamptz not null
    );
    create index commands_by_time on ${s}.commands (recorded_at, id);
    create index commands_by_correlation on ${s}.commands (correlation_id, recorded_at, id);
    create index commands_by_type on ${s}.commands (command_type, recorded_at, id);
    create table ${s}.checkpoints (
      consumer text primary key,
      position bigint not null check (position >= 0)
    );
  `,
  (s) => `
    create table ${s}.snapshots (
      stream_id text primary key,
      version bigint not null check (version >= 1),
      schema_version int not null,
      state jsonb not null,
      taken_at timestamptz not null
    );
  `,
  (s) => `
    create table ${s}.documents (
      projection text not null,
      id text collate "C" not null,
      document jsonb not null,
      primary key (projection, id)
    );
    create table ${s}.projections (
      name text primary key,
      position bigint not null check (position >= 0)
    );
  `,
  // Tags (issue #24): kept on the event as written, and in a B-tree side
  // table by tag and position, which queries and append conditions read.
  (s) => `
    alter table ${s}.events add column tags jsonb;
    create table ${s}.event_tags (
      tag text not null,
      position bigint not null,
      primary key (tag, position)
    );
    create index events_by_type on ${s}.events (type, position);
  `,
  // Append conditions in the append's own statement (see tag_locks.ts): a
  // volatile function takes the condition's advisory locks, then looks for
  // the first event after `since` that matches `query`, in a query of its
  // own, which under READ COMMITTED takes a fresh snapshot: after the locks.
  (s) => `
    create function ${s}.condition_conflict(
      watched_keys text[], own_keys text[], first_tags text[], query jsonb, since bigint
    ) returns bigint language plpgsql volatile as $fn$
    declare
      conflict bigint;
    begin
      perform case when exclusive then pg_advisory_xact_lock(h)
                   else pg_advisory_xact_lock_shared(h) end
      from (
        select hashtextextended(k, 0) as h, bool_or(exclusive) as exclusive
        from (select unnest(watched_keys) as k, true as exclusive
              union all select unnest(own_keys), false) as keys
        group by 1
      ) as keys
      order by h;
      select min(e.position) into conflict
      from ${s}.event_tags t join ${s}.events e on e.position = t.position
      where t.tag = any(first_tags) and t.position > since
        and exists (
          select from jsonb_array_elements(query) as item
          where ((item -> 'types') is null or (item -> 'types') ? e.type)
            and e.tags @> (item -> 'tags')
        );
      return conflict;
    end
    $fn$;
  `,
  // The same function, but its look reads each candidate's event by
  // position (a lateral lookup behind `offset 0`, which no plan flattens):
  // the join of migration 5 let a plan hash the whole events table at every
  // conditional append. And its queries keep one generic plan: planning
  // them for each call's values cost more than half its time.
  (s) => `
    create or replace function ${s}.condition_conflict(
      watched_keys text[], own_keys text[], first_tags text[], query jsonb, since bigint
    ) returns bigint language plpgsql volatile
    set plan_cache_mode = force_generic_plan as $fn$
    declare
      conflict bigint;
    begin
      perform case when exclusive then pg_advisory_xact_lock(h)
                   else pg_advisory_xact_lock_shared(h) end
      from (
        select hashtextextended(k, 0) as h, bool_or(exclusive) as exclusive
        from (select unnest(watched_keys) as k, true as exclusive
              union all select unnest(own_keys), false) as keys
        group by 1
      ) as keys
      order by h;
      select min(t.position) into conflict
      from ${s}.event_tags t
      cross join lateral (
        select e.type, e.tags from ${s}.events e where e.position = t.position offset 0
      ) as e
      where t.tag = any(first_tags) and t.position > since
        and exists (
          select from jsonb_array_elements(query) as item
          where ((item -> 'types') is null or (item -> 'types') ? e.type)
            and e.tags @> (item -> 'tags')
        );
      return conflict;
    end
    $fn$;
  `,
];

const ready = new WeakMap<Sql, Map<string, Promise<void>>>();

/**
 * Creates the schema and brings it to the latest migration, once per
 * connection pool and schema; concurrent callers (other processes too) wait
 * on an advisory lock and find the work done.
 */
export function migrate(sql: Sql, schema: string): Promise<void> {
  assertSchemaName(schema);
  let bySchema = ready.get(sql);
  if (!bySchema) ready.set(sql, bySchema = new Map());
  let done = bySchema.get(schema);
  if (!done) {
    done = runMigrations(sql, schema);
    bySchema.set(schema, done);
    done.catch(() => bySchema!.delete(schema));
  }
  return done;
}

async function runMigrations(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${"verdict:" + schema}))`;
    await tx.unsafe(`create schema if not exists ${schema}`);
    await tx.unsafe(
      `create table if not exists ${schema}.migrations (
        version int primary key,
        applied_at timestamptz not null default now()
      )`,
    );
    const [{ current }] = await tx.unsafe<{ current: number }[]>(
      `select coalesce(max(version), 0)::int as current from ${schema}.migrations`,
    );
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version - 1](schema));
      await tx.unsafe(`insert into ${schema}.migrations (version) values ($1)`, [
        version,
      ]);
    }
  });
}
