/**
 * The PostgreSQL event store's reads: the SQL, and the rows decoded (or
 * reported as damaged) into recorded events.
 *
 * @module
 */

import type { Sql } from "postgres";
import {
  type Event,
  EventDecodeError,
  eventMatchesQuery,
  type EventQuery,
  type EventQueryItem,
  type QueryResult,
  type ReadStreamOptions,
  type RecordedEvent,
} from "../../mod.ts";
import { assertStreamSequence, storedEventProblem } from "../../src/store_kit/mod.ts";
import { PER_TRANSACTION } from "./schema.ts";

/** A row of the events table, as every read selects it. */
export interface EventRow {
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
  /** The event's tags; null when it has none. */
  tags: unknown;
}

const EVENT_COLUMNS =
  "position::float8 as position, event_id, stream_id, version::float8 as version, type, data, data is null as no_data, metadata, created_at, tags";

/** A row as a recorded event; damage is an `EventDecodeError`. */
export function decode<E extends Event>(row: EventRow): RecordedEvent<E> {
  const problem = storedEventProblem({
    id: row.event_id,
    type: row.type,
    data: row.no_data ? undefined : row.data,
    metadata: row.metadata,
    version: row.version,
  });
  const tags = row.tags;
  const damage = problem ??
    (tags !== null && tags !== undefined &&
        !(Array.isArray(tags) && tags.every((tag) => typeof tag === "string"))
      ? "its tags are not a list of strings"
      : undefined);
  if (damage !== undefined) {
    throw new EventDecodeError(row.position, row, damage, {
      streamId: row.stream_id,
      version: row.version,
    });
  }
  const event = {
    id: row.event_id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    version: row.version,
    position: row.position,
    timestamp: row.created_at,
  } as RecordedEvent<E>;
  return tags === null || tags === undefined
    ? event
    : { ...event, tags: tags as string[] } as RecordedEvent<E>;
}

/** One stream's events, checked to have no gap. */
export async function selectStream<E extends Event>(
  sql: Sql,
  schema: string,
  streamId: string,
  options: ReadStreamOptions,
): Promise<RecordedEvent<E>[]> {
  const backward = options.direction === "backward";
  const rows = await sql.unsafe<EventRow[]>(
    `select ${EVENT_COLUMNS} from ${schema}.events
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
  assertStreamSequence(
    events,
    streamId,
    options.from ?? 1,
    backward ? "backward" : "forward",
  );
  return events;
}

/** The stored events of these ids, by id; unknown ids are absent. */
export async function selectByIds<E extends Event>(
  sql: Sql,
  schema: string,
  ids: readonly (string | undefined)[],
): Promise<Map<string, RecordedEvent<E>>> {
  const rows = await sql.unsafe<EventRow[]>(
    `select ${EVENT_COLUMNS} from ${schema}.events where event_id = any($1::text[])`,
    [ids.filter((id) => id !== undefined)] as never[],
  );
  return new Map(rows.map((row) => [row.event_id, decode<E>(row)]));
}

/**
 * The readers' horizon: positions of transactions older than the oldest one
 * still running.
 */
const BELOW_HORIZON =
  `events.position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint * ${PER_TRANSACTION}`;

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
 * How long `readAll` waits for this store's own committed appends that an
 * older open transaction holds back, before it returns what is readable.
 */
const OWN_WRITES_WAIT_MS = 1_000;

/**
 * Events in global order after `after`, at most `limit` — only those of
 * transactions older than every transaction still running, so none can
 * commit behind the reader later. Readers stay below the oldest open
 * transaction, so an append this store committed (up to `ownLast`) can be
 * held back by another writer's transaction begun before it. Read your own
 * writes: wait for them, briefly.
 */
export async function selectAll<E extends Event>(
  sql: Sql,
  schema: string,
  after: number,
  limit: number,
  ownLast: number,
): Promise<RecordedEvent<E>[]> {
  const deadline = performance.now() + OWN_WRITES_WAIT_MS;
  const rows: EventRow[] = [];
  for (let pause = 1;; pause = Math.min(pause * 2, 50)) {
    const page = await sql.unsafe<EventRow[]>(
      readAllQuery(schema),
      [after, Number.isFinite(limit) ? limit - rows.length : null] as never[],
      { prepare: true },
    );
    rows.push(...page);
    after = rows.at(-1)?.position ?? after;
    if (rows.length >= limit || after >= ownLast || performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return rows.map((row) => decode<E>(row));
}

/**
 * Whether a reader after `$1` finds an event now (`readable`), and whether
 * one is committed at all (`committed`): committed but not readable means an
 * older transaction still open holds it back. `committed` compares with the
 * highest position, which the index answers at once: an `exists` over
 * `position > $1` alone made the generic plan a prepared statement keeps
 * after five runs scan the whole table, on every wake-up of every follower.
 */
export function waitQuery(schema: string): string {
  return `select
    exists(select 1 from ${schema}.events where events.position > $1 and ${BELOW_HORIZON})
      as readable,
    coalesce((select max(position) from ${schema}.events), 0) > $1 as committed`;
}

/**
 * The events matching `query` after `after` that readers may see (below the
 * horizon of transactions still running, as `readAll` reads), and the head:
 * the horizon's last position, past which every later commit lands.
 * Candidates come from the tag side table (each item's first tag) or the
 * type index; `eventMatchesQuery` then keeps the exact matches.
 */
export async function selectQuery<E extends Event>(
  sql: Sql,
  schema: string,
  query: EventQuery,
  after: number,
  ownLast: number,
): Promise<QueryResult<E>> {
  const { text, parameters } = readQueryStatement(schema, query, after);
  // As readAll does, wait (a while) for this store's own last commit to be
  // readable: else an older transaction still open would keep it above the
  // head, and a condition on this read would meet the writer's own event.
  const deadline = performance.now() + OWN_WRITES_WAIT_MS;
  let rows: (EventRow & { horizon: number })[];
  for (let pause = 1;; pause = Math.min(pause * 2, 50)) {
    rows = await sql.unsafe<(EventRow & { horizon: number })[]>(text, parameters, {
      prepare: true,
    });
    if (rows[0].horizon > ownLast || performance.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const events: RecordedEvent<E>[] = [];
  for (const row of rows) {
    if (row.position === null) continue;
    const event = decode<E>(row);
    if (eventMatchesQuery(event, query)) events.push(event);
  }
  return { events, head: Math.max(after, rows[0].horizon - 1) };
}

/**
 * The SQL of `readQuery` and its parameters: the candidates' positions by
 * index — only the lookups this query's shape needs (a generic plan cannot
 * skip an empty one): the tag table by each item's first tag, the type
 * index for items without tags — then each candidate's event by its
 * position (a lateral lookup behind `offset 0`, which no plan flattens into
 * a scan of every event after `after`); all events after `after` for `"all"`. Only what is
 * below the readers' horizon, which every row carries (a left join: the
 * horizon comes back with no event).
 */
export function readQueryStatement(
  schema: string,
  query: EventQuery,
  after: number,
): { text: string; parameters: never[] } {
  const horizon = `with h as (
       select pg_snapshot_xmin(pg_current_snapshot())::text::bigint * ${PER_TRANSACTION} as horizon
     )`;
  if (query === "all") {
    return {
      text: `${horizon}
     select h.horizon::float8 as horizon, m.*
     from h left join lateral (
       select ${EVENT_COLUMNS} from ${schema}.events
       where events.position < h.horizon and events.position > $1
       order by events.position
     ) m on true`,
      parameters: [after] as never[],
    };
  }
  const candidates = candidatePositions(schema, query);
  const text = `${horizon}
     select h.horizon::float8 as horizon, m.*
     from h left join lateral (
       select e.* from (${candidates.union}) c
       cross join lateral (
         select ${EVENT_COLUMNS} from ${schema}.events
         where events.position = c.position offset 0
       ) e
       where c.position < h.horizon
       order by c.position
     ) m on true`;
  return { text, parameters: [after, ...candidates.parameters] as never[] };
}

/**
 * The positions after `$1` of the events a query's items may match, as one
 * SQL union, and its parameters from `$2` on: the tag table by each item's
 * first tag (every event the item matches carries it), the type index for
 * items without tags — only the lookups the query's shape needs (a generic
 * plan cannot skip an empty one). Each value is read through a scalar
 * subquery, which no plan sees into: a plan for given values then costs
 * what the generic plan does, and PostgreSQL keeps the generic plan instead
 * of planning every call. For `readQuery` and a transaction's condition.
 */
export function candidatePositions(
  schema: string,
  items: readonly EventQueryItem[],
): { union: string; parameters: unknown[] } {
  // A valid item names a non-empty list of tags, or of types, or both.
  const firstTags = [
    ...new Set(items.flatMap((item) => item.tags ? [item.tags[0]] : [])),
  ];
  const typesOnly = [...new Set(items.flatMap((item) => item.tags ? [] : item.types!))];
  const parameters: unknown[] = [];
  const lookups: string[] = [];
  if (firstTags.length > 0) {
    parameters.push(firstTags);
    lookups.push(
      `select position from ${schema}.event_tags
       where tag = any((select $${parameters.length + 1}::text[])::text[])
         and position > (select $1::bigint)`,
    );
  }
  if (typesOnly.length > 0) {
    parameters.push(typesOnly);
    lookups.push(
      `select position from ${schema}.events
       where type = any((select $${parameters.length + 1}::text[])::text[])
         and position > (select $1::bigint)`,
    );
  }
  return { union: lookups.join(" union "), parameters };
}
