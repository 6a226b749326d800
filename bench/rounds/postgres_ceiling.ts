/**
 * `deno task bench:rounds postgres-ceiling`: how many events per second the
 * PostgreSQL server itself can commit into verdict's events table, with no
 * client work at all, beside verdict's own batch append.
 *
 * Each round, alternating so the machine's drift lands on every side alike:
 *
 * - `server, 100 events per commit`: one statement per transaction that creates a
 *   stream's head and inserts 100 events the server generates itself (ids
 *   from `uuidv7()`, positions from the transaction id, as the store writes
 *   them) into the store's real, indexed `events` table — the rows
 *   `appendToStream` writes, without sending any of them;
 * - `verdict, 100 events per append`: `appendToStream` of 100 events (as in
 *   `bench/postgres_bench.ts`, group `postgres batch`);
 * - the same two, 8 at once on a pool of 8 connections;
 * - `server, 65,536 events per commit`: the same statement with the most events one
 *   transaction may hold (positions are the transaction id × 65,536 + index):
 *   the server's bulk rate with these indexes;
 * - `select 1`: one round trip.
 *
 * A round runs 40 appends (or statements, or round trips) of each case but
 * the bulk one, which runs once.
 *
 * Prints each round and the medians. Uses `DATABASE_URL`, or starts an
 * embedded server and stops it.
 */
import { openPostgresStores } from "@verdict/verdict/postgres";
import { median, roundsArgument, time } from "./shared.ts";
import { startPostgres } from "../../tests/support/start_postgres.ts";

const ROUNDS = roundsArgument("bench:rounds postgres-ceiling", 7);
/** Statements (or calls) per round for the 100-event cases and `select 1`. */
const PER_ROUND = 40;
const BULK = 65_536;
const WRITERS = 8;

const server = await startPostgres();
const schema = `ceiling_${Date.now()}`;
// A sequential client's pool keeps one connection busy; postgres.js hands
// queries to its open connections in turn, so on a bigger pool each statement
// would wake a backend that sat idle. The writers get a pool of their own.
const stores = openPostgresStores(server.url, { schema, max: 1 });
const writers = openPostgresStores(server.url, { schema, max: WRITERS });
const sql = stores.sql;
try {
  // An append migrates the schema; the stream it writes is never read.
  await stores.events.appendToStream("ceiling-migrate", [{ type: "Migrated", data: {} }]);
  const [{ version }] = await sql`select current_setting('server_version') as version`;
  const hasUuidv7 = Number(String(version).split(".")[0]) >= 18;
  // PostgreSQL 18 has uuidv7(); before it, random ids (slower to index).
  const eventId = hasUuidv7 ? "uuidv7()::text" : "gen_random_uuid()::text";

  let stream = 0;
  const serverStatement = (count: number, pool = sql) => {
    const streamId = `ceiling-${stream++}`;
    return pool.unsafe(
      `with head as (
         insert into ${schema}.streams (stream_id, version) values ($1, $2) returning version
       )
       insert into ${schema}.events
         (position, transaction_id, event_id, stream_id, version, type, data, metadata,
          created_at)
       select pg_current_xact_id()::text::bigint * ${BULK} + i, pg_current_xact_id(),
              ${eventId}, $1, i + 1, 'Imported',
              '{"line":0,"text":"a line of an imported statement"}'::jsonb, '{}'::jsonb,
              now()
       from head, generate_series(0, $2::int - 1) i`,
      [streamId, count],
    );
  };
  const hundred = Array.from({ length: 100 }, (_, i) => ({
    type: "Imported",
    data: { line: i, text: "a line of an imported statement" },
  }));
  const verdictAppend = (on = stores) =>
    on.events.appendToStream(`ceiling-${stream++}`, hundred, {
      expectedVersion: "no_stream",
    });
  /** `count` calls of `fn`, `lanes` at a time. */
  const repeat = (count: number, lanes: number, fn: () => Promise<unknown>) => () => {
    let left = count;
    return Promise.all(
      Array.from({ length: lanes }, async () => {
        while (left-- > 0) await fn();
      }),
    ).then(() => {});
  };
  // Each case: its label, what one round runs, and the events that round writes.
  const cases = [
    {
      label: "server, 100 events per commit",
      run: repeat(PER_ROUND, 1, () => serverStatement(100)),
      events: 100 * PER_ROUND,
    },
    {
      label: "verdict, 100 events per append",
      run: repeat(PER_ROUND, 1, () => verdictAppend()),
      events: 100 * PER_ROUND,
    },
    {
      label: `server, 100 per commit, ${WRITERS} at once`,
      run: repeat(PER_ROUND, WRITERS, () => serverStatement(100, writers.sql)),
      events: 100 * PER_ROUND,
    },
    {
      label: `verdict, 100 per append, ${WRITERS} at once`,
      run: repeat(PER_ROUND, WRITERS, () => verdictAppend(writers)),
      events: 100 * PER_ROUND,
    },
    {
      label: `server, ${BULK.toLocaleString("en-US")} events per commit`,
      run: () => serverStatement(BULK).then(() => {}),
      events: BULK,
    },
    { label: "select 1 (a round trip)", run: repeat(PER_ROUND, 1, () => sql`select 1`) },
  ];
  // A round to warm up: statements prepared on every connection, caches filled.
  for (const { run } of cases) await run();

  const times: number[][] = cases.map(() => []);
  const describe = (ms: number, events?: number) =>
    events
      ? `${Math.round(events / ms * 1000).toLocaleString("en-US")} events/s`
      : `${(ms / PER_ROUND).toFixed(2)} ms`;
  console.log(`PostgreSQL ${version}, ${ROUNDS} alternating rounds of, in turn:`);
  for (const { label } of cases) console.log(`  ${label}`);
  for (let round = 0; round < ROUNDS; round++) {
    const parts: string[] = [];
    for (const [i, { run, events }] of cases.entries()) {
      const ms = await time(run);
      times[i].push(ms);
      parts.push(describe(ms, events));
    }
    console.log(`round ${round + 1}: ${parts.join(" · ")}`);
  }
  console.log(`medians of ${ROUNDS} rounds:`);
  const width = Math.max(...cases.map(({ label }) => label.length));
  cases.forEach(({ label, events }, i) => {
    console.log(`  ${label.padEnd(width)}  ${describe(median(times[i]), events)}`);
  });
} finally {
  await sql.unsafe(`drop schema if exists ${schema} cascade`).catch(() => {});
  await writers.close();
  await stores.close();
  await server.stop();
}
