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
 *   statement (a new READ COMMITTED snapshot), it looks for a matching event
 *   after the condition's position, and writes only if there is none.
 *
 * So a writer of a matching event either committed before the check took
 * its snapshot (the check sees it), or waits on the exclusive lock until the
 * conditional append commits: no write skew. Keys are taken in one sorted
 * pass per transaction (a writer's append statement sorts its own), so two
 * transactions never wait on each other in a cycle. Transaction-level locks
 * end with the transaction, which is what a transaction pooler needs.
 *
 * A query item without tags (or `"all"`) would need every append to take a
 * lock; the store refuses such conditions rather than slow every append.
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
import { tagLockKeys } from "./append_statement.ts";

/** Refuses a condition with an item that names no tag (see the module). */
export function assertLockableCondition(condition: AppendCondition): void {
  const query = condition.failIfEventsMatch;
  if (query === "all" || query.some((item) => !item.tags || item.tags.length === 0)) {
    throw new TypeError(
      'The PostgreSQL event store checks append conditions whose query items each name a tag; an item without tags, or "all", is not supported',
    );
  }
}

/** Takes `exclusive` and `shared` keys in one statement, in key order. */
async function lock(
  sql: Queryable,
  exclusive: readonly string[],
  shared: readonly string[],
): Promise<void> {
  const keys = [...exclusive, ...shared];
  if (keys.length === 0) return;
  // The first `$2` keys are taken exclusively; a key given both ways is.
  await sql.unsafe(
    `select case when x then pg_advisory_xact_lock(h) else pg_advisory_xact_lock_shared(h) end
     from (
       select hashtextextended(k, 0) as h, bool_or(i <= $2) as x
       from unnest($1::text[]) with ordinality as u(k, i)
       group by 1
     ) keys
     order by h`,
    [keys, exclusive.length] as never[],
    { prepare: true },
  );
}

/** The tags of an append's events. */
function tagsOf(appends: readonly StreamAppend[]): string[] {
  return appends.flatMap((append) => append.events.flatMap((event) => event.tags ?? []));
}

/** Shared locks on the tags of a multi-stream append, taken before its writes. */
export async function lockTags(
  sql: Queryable,
  schema: string,
  appends: readonly StreamAppend[],
): Promise<void> {
  await lock(sql, [], tagLockKeys(schema, tagsOf(appends)));
}

/**
 * Locks a conditional append's keys, then fails it with an
 * `AppendConditionError` if an event matching the condition's query has a
 * position after the condition's.
 */
export async function lockAndCheck(
  sql: Queryable,
  schema: string,
  condition: AppendCondition,
  appends: readonly StreamAppend[],
): Promise<void> {
  const query = condition.failIfEventsMatch as Exclude<
    AppendCondition["failIfEventsMatch"],
    "all"
  >;
  const watched = [...new Set(query.map((item) => item.tags![0]))];
  await lock(sql, tagLockKeys(schema, watched), tagLockKeys(schema, tagsOf(appends)));
  const candidates = await sql.unsafe<
    { position: number; type: string; tags: string[] | null }[]
  >(
    `select e.position::float8 as position, e.type, e.tags
     from ${schema}.event_tags t join ${schema}.events e on e.position = t.position
     where t.tag = any($1::text[]) and t.position > $2
     order by e.position`,
    [watched, condition.after] as never[],
    { prepare: true },
  );
  for (const candidate of candidates) {
    const event = { type: candidate.type, tags: candidate.tags ?? undefined };
    if (eventMatchesQuery(event, query)) {
      throw new AppendConditionError(candidate.position, condition.after);
    }
  }
}
