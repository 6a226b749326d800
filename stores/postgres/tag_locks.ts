/**
 * How the PostgreSQL event store keeps append conditions under READ
 * COMMITTED: transaction-level advisory locks on tag keys.
 *
 * - Every append of events with tags takes a **shared** lock on each tag's
 *   key before it writes (in its append statement, or here for a
 *   multi-stream append), and holds it to its commit.
 * - A conditional append first takes an **exclusive** lock on the key of
 *   the first tag of each item of its query (every event an item matches
 *   carries that tag, so its writer takes that key), and shared locks on its
 *   own events' tags, all in one statement, in key order. Then, in a new
 *   query (a new READ COMMITTED snapshot), it looks for a matching event
 *   after the condition's position, and writes only if there is none.
 * - An append to one stream does all of it in its one statement: its first
 *   CTE calls the schema's `condition_conflict` function (migration 5),
 *   which takes the keys and then looks, in a query of its own — a VOLATILE
 *   function's query takes a fresh snapshot, after the locks — and the
 *   statement writes only if the function found nothing. One round trip.
 * - A transaction (several streams) sends the look right behind the lock
 *   statement without waiting for it: PostgreSQL runs it once the lock
 *   statement is done, so its snapshot comes after the lock.
 *
 * So a writer of a matching event either committed before the check took
 * its snapshot (the check sees it), or waits on the exclusive lock until the
 * conditional append commits: no write skew. Keys are taken in one sorted
 * pass per transaction (a writer's append statement sorts its own), so two
 * transactions never wait on each other in a cycle. Transaction-level locks
 * end with the transaction, which is what a transaction pooler needs.
 *
 * A query item without tags (or `"all"`) names no key its writers take.
 * Such a condition locks the events table instead, in SHARE ROW EXCLUSIVE
 * mode: every insert takes ROW EXCLUSIVE on it, which conflicts, so the
 * condition waits for every writer still running and holds off new ones
 * until it commits; then it checks, in a new statement, as above, in a
 * transaction (the table must be locked before the statement that inserts
 * plans its own ROW EXCLUSIVE lock). Appends that take no such condition pay
 * nothing for it.
 *
 * Locks are taken in one order everywhere: the events table, then tag keys
 * (sorted), then stream rows. A single-stream append's statement takes
 * ROW EXCLUSIVE when PostgreSQL plans it, before its tag keys; a transaction
 * that would take a tag key or a stream row before its first insert (see
 * {@linkcode locksBeforeInserting}) first locks the table in ROW EXCLUSIVE
 * mode, which costs nothing against other writers. Without that, a writer
 * holding a tag key or a stream row and waiting to insert, and a whole-log
 * condition holding the table and waiting for that key or row, would wait
 * on each other.
 *
 * @module
 */
import {
  type AppendCondition,
  AppendConditionError,
  eventMatchesQuery,
  type StreamAppend,
} from "../../mod.ts";
import type { Queryable } from "./append_statement.ts";
import { hasTags, tagLockKeys } from "./append_statement.ts";
import { candidatePositions } from "./event_reads.ts";

/** Whether a condition's query has an item without tags, or is `"all"`. */
export function watchesWholeLog(condition: AppendCondition): boolean {
  const query = condition.failIfEventsMatch;
  return query === "all" || query.some((item) => !item.tags);
}

/**
 * Whether a transactional append takes a lock before its first insert — a
 * condition's, its tags' keys, or a stream row it only checks — and so must
 * lock the events table first (see the module).
 */
export function locksBeforeInserting(
  appends: readonly StreamAppend[],
  condition: AppendCondition | undefined,
): boolean {
  return condition !== undefined || appends.some((append) =>
    hasTags(append) ||
    (append.events.length === 0 && (append.expectedVersion ?? "any") !== "any")
  );
}

/**
 * Locks the events table, first in a transaction: SHARE ROW EXCLUSIVE for a
 * condition that watches the whole log, ROW EXCLUSIVE otherwise.
 */
export function lockEventsTable(
  sql: Queryable,
  schema: string,
  condition: AppendCondition | undefined,
): Promise<unknown> {
  const mode = condition && watchesWholeLog(condition)
    ? "share row exclusive"
    : "row exclusive";
  return sql.unsafe(`lock table ${schema}.events in ${mode} mode`).execute();
}

/**
 * Takes `exclusive` and `shared` keys in one statement, in key order. The
 * statement is sent now (`execute`), so one sent after it is run after it.
 */
function lock(
  sql: Queryable,
  exclusive: readonly string[],
  shared: readonly string[],
): Promise<unknown> | undefined {
  const keys = [...exclusive, ...shared];
  if (keys.length === 0) return undefined;
  // The first `$2` keys are taken exclusively; a key given both ways is.
  return sql.unsafe(
    `select case when x then pg_advisory_xact_lock(h) else pg_advisory_xact_lock_shared(h) end
     from (
       select hashtextextended(k, 0) as h, bool_or(i <= $2) as x
       from unnest($1::text[]) with ordinality as u(k, i)
       group by 1
     ) keys
     order by h`,
    [keys, exclusive.length] as never[],
    { prepare: true },
  ).execute();
}

/** The tags of an append's events. */
function tagsOf(appends: readonly StreamAppend[]): string[] {
  return appends.flatMap((append) => append.events.flatMap((event) => event.tags ?? []));
}

/** Shared locks on the tags of a multi-stream append, taken before its writes. */
export function lockTags(
  sql: Queryable,
  schema: string,
  appends: readonly StreamAppend[],
): Promise<unknown> | undefined {
  return lock(sql, [], tagLockKeys(schema, tagsOf(appends)));
}

/**
 * Locks a conditional append's keys (its table lock sent already), then
 * fails it with an `AppendConditionError` if an event matching the
 * condition's query has a position after the condition's.
 */
export async function lockAndCheck(
  sql: Queryable,
  schema: string,
  condition: AppendCondition,
  appends: readonly StreamAppend[],
): Promise<void> {
  const query = condition.failIfEventsMatch;
  // A whole-log condition's table lock holds every other writer off, until
  // it commits: it needs no key. The check is sent right behind the lock:
  // PostgreSQL runs a connection's statements in order, so it takes its
  // snapshot once the lock is held (tests/postgres_behaviour_test.ts shows
  // it), and no round trip is spent between them.
  const locked = watchesWholeLog(condition) ? undefined : lock(
    sql,
    tagLockKeys(
      schema,
      (query as Exclude<typeof query, "all">).map((item) => item.tags![0]),
    ),
    tagLockKeys(schema, tagsOf(appends)),
  );
  const { text, parameters } = checkStatement(schema, condition);
  const [, candidates] = await Promise.all([
    locked,
    sql.unsafe<{ position: number; type: string; tags: string[] | null }[]>(
      text,
      parameters,
      { prepare: true },
    ).execute(),
  ]);
  for (const candidate of candidates) {
    const event = { type: candidate.type, tags: candidate.tags ?? undefined };
    if (eventMatchesQuery(event, query)) {
      throw new AppendConditionError(candidate.position, condition.after);
    }
  }
}

/**
 * The look for a match after the condition's position: the candidates of
 * {@linkcode candidatePositions}, then each one's event by position (a
 * lateral lookup behind `offset 0`, as `readQuery`'s); or the first event
 * after it for `"all"`.
 */
export function checkStatement(
  schema: string,
  condition: AppendCondition,
): { text: string; parameters: never[] } {
  const query = condition.failIfEventsMatch;
  if (query === "all") {
    return {
      text: `select position::float8 as position, type, tags from ${schema}.events
             where position > $1::bigint order by position limit 1`,
      parameters: [condition.after] as never[],
    };
  }
  const candidates = candidatePositions(schema, query);
  return {
    text: `select e.* from (${candidates.union}) c
           cross join lateral (
             select position::float8 as position, type, tags from ${schema}.events
             where events.position = c.position offset 0
           ) e
           order by c.position`,
    parameters: [condition.after, ...candidates.parameters] as never[],
  };
}
