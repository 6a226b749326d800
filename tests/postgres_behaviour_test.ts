// deno-only: it reads the stores' SQL from their modules, and kills processes.
// PostgreSQL behaviour beyond the contract suites: order under concurrent
// writers, a late commit, atomic audit under faults, a SIGKILL mid-batch,
// and the indexes the queries really use.
import { soak } from "./support/soak.ts";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  AppendConditionError,
  ConcurrencyError,
  follow,
  Subscription,
} from "@verdict/verdict";
import {
  PostgresCheckpointStore,
  PostgresCommandLog,
  PostgresConsumerLock,
  PostgresDocumentStore,
  PostgresEventStore,
} from "@verdict/verdict/postgres";
import { sampleCommandRecord } from "@verdict/verdict/testing";
import { commandPageQuery } from "../stores/postgres/command_log.ts";
import { readAllQuery } from "../stores/postgres/event_store.ts";
import { readQueryStatement, waitQuery } from "../stores/postgres/event_reads.ts";
import { checkStatement } from "../stores/postgres/tag_locks.ts";
import { testDatabase } from "./support/postgres.ts";
import { checkAtomicAudit } from "./support/atomic_audit.ts";
import { checkEveryCommandRecorded } from "./support/every_command_recorded.ts";
import {
  bankInlineProjections,
  checkBankProjections,
} from "./support/bank_projections.ts";
import { checkConcurrentOrder } from "./support/concurrent_order.ts";
import { checkThrottledWakeUps } from "./support/throttled_wake_ups.ts";
import { killWriterMidAppend } from "./support/kill_mid_append.ts";
import { checkCoherentCache } from "./support/coherent_cache.ts";

const db = await testDatabase();

Deno.test({
  name:
    "PostgreSQL: 8 writers × 1,000 events, a follower resuming from its checkpoint sees each once, in order",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const store = new PostgresEventStore(db!.sql, { schema });
    const checkpoints = new PostgresCheckpointStore(db!.sql, { schema });
    await checkConcurrentOrder(store, checkpoints, 100);
    await store.close();
  },
});

Deno.test({
  name:
    "PostgreSQL: a transaction that commits late is not skipped by a reader's checkpoint",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const store = new PostgresEventStore(db!.sql, { schema });
    await store.appendToStream("warm-up", [{ type: "A", data: {} }]); // creates the schema
    // A transaction takes its xid first, and commits after a later one did.
    const reserved = db!.sql.reserve();
    const slow = await reserved;
    await slow.unsafe("begin");
    await slow.unsafe(
      `insert into ${schema}.streams (stream_id, version) values ('slow', 1)`,
    );
    await store.appendToStream("fast", [{ type: "Fast", data: {} }]);
    // Another store reads: the writer's own readAll would wait up to 1 s for
    // its held-back append, keeping the transaction — and so every reader of
    // this server, other test files' too — waiting that much longer.
    const reader = new PostgresEventStore(db!.sql, { schema });
    const whileOpen = await reader.readAll();
    assert.deepEqual(
      whileOpen.map((e) => e.streamId),
      ["warm-up"],
      "nothing committed after the open transaction began is visible yet",
    );
    await slow.unsafe(
      `insert into ${schema}.events (position, transaction_id, event_id, stream_id, version, type, data, metadata, created_at)
       values (pg_current_xact_id()::text::bigint * 65536, pg_current_xact_id(), 'slow-1', 'slow', 1, 'Slow', '{}', '{}', now())`,
    );
    await slow.unsafe("commit");
    slow.release();
    const checkpoint = whileOpen.at(-1)!.position;
    const after = await store.readAll({ after: checkpoint });
    assert.deepEqual(
      after.map((e) => e.type),
      ["Slow", "Fast"],
      "the late commit is read after the checkpoint, in transaction order",
    );
    await Promise.all([store.close(), reader.close()]);
  },
});

Deno.test({
  name:
    "PostgreSQL coherentCache: two instances, each with its own pool, learn of each other's commits by NOTIFY",
  ignore: db === undefined,
  async fn(t) {
    const schema = db!.schema();
    await checkCoherentCache(
      t,
      () =>
        new PostgresEventStore(postgres(db!.url, { max: 4, onnotice: () => {} }), {
          schema,
          ownsSql: true,
        }),
    );
  },
});

Deno.test({
  name:
    "PostgreSQL append conditions: under READ COMMITTED a check-then-insert lets two writers in; the exclusive tag lock taken before the check lets one, sent apart, pipelined, or in one statement through a volatile function",
  ignore: db === undefined,
  async fn() {
    // The mechanism of stores/postgres/tag_locks.ts, shown on raw SQL with
    // two connections: first the write skew it prevents, then the lock.
    const schema = db!.schema();
    await db!.sql.unsafe(
      `create schema ${schema}; create table ${schema}.claims (tag text)`,
    );
    const [a, b] = [await db!.sql.reserve(), await db!.sql.reserve()];
    const taken = async (tx: typeof a) =>
      Number(
        (await tx.unsafe(`select count(*) from ${schema}.claims where tag = 'x'`))[0]
          .count,
      );
    try {
      // Without the lock: both check, see nothing, insert, and commit.
      await a.unsafe("begin");
      await b.unsafe("begin");
      assert.equal(await taken(a), 0);
      assert.equal(await taken(b), 0);
      await a.unsafe(`insert into ${schema}.claims values ('x')`);
      await b.unsafe(`insert into ${schema}.claims values ('x')`);
      await a.unsafe("commit");
      await b.unsafe("commit");
      assert.equal(await taken(a), 2, "READ COMMITTED let both claims in");
      await a.unsafe(`delete from ${schema}.claims`);

      // With it: the lock comes before the check, so the second check runs
      // after the first claim committed, on a new snapshot, and sees it.
      const lock = `select pg_advisory_xact_lock(hashtextextended('${schema}:tag:x', 0))`;
      await a.unsafe("begin");
      await a.unsafe(lock);
      assert.equal(await taken(a), 0);
      await b.unsafe("begin");
      const bLocked = b.unsafe(lock); // waits for a's commit
      let bHasLock = false;
      bLocked.then(() => bHasLock = true);
      await a.unsafe(`insert into ${schema}.claims values ('x')`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(bHasLock, false, "the second writer waits on the lock");
      await a.unsafe("commit");
      await bLocked;
      assert.equal(
        await taken(b),
        1,
        "the second check sees the first claim, and refuses",
      );
      await b.unsafe("rollback");
      await a.unsafe(`delete from ${schema}.claims`);

      // Pipelined, as the store sends them: the check goes right behind the
      // lock, before the lock is granted, and still runs after it.
      await a.unsafe("begin");
      await a.unsafe(lock);
      await b.unsafe("begin");
      const bLock = b.unsafe(lock).execute();
      const bCheck = b.unsafe(
        `select count(*) from ${schema}.claims where tag = 'x'`,
      ).execute();
      await a.unsafe(`insert into ${schema}.claims values ('x')`);
      await a.unsafe("commit");
      const [, [{ count }]] = await Promise.all([bLock, bCheck]);
      assert.equal(Number(count), 1, "the pipelined check sees the first claim");
      await b.unsafe("rollback");

      // In one statement, as a single-stream conditional append runs: a
      // function takes the lock, then checks in a query of its own. A
      // VOLATILE function's query takes a fresh snapshot, after the lock; a
      // STABLE one's is the statement's, from before it: write skew again.
      const [{ pid }] = await b.unsafe("select pg_backend_pid() as pid");
      for (const volatility of ["volatile", "stable"]) {
        await a.unsafe(`delete from ${schema}.claims`);
        await a.unsafe(
          `create or replace function ${schema}.claimed() returns bigint
           language plpgsql ${volatility} as $$
           begin
             perform pg_advisory_xact_lock(hashtextextended('${schema}:tag:x', 0));
             return (select count(*) from ${schema}.claims where tag = 'x');
           end $$`,
        );
        await a.unsafe("begin");
        await a.unsafe(lock);
        const bClaim = b.unsafe(
          `with c as materialized (select ${schema}.claimed() as n)
           insert into ${schema}.claims select 'x' from c where n = 0 returning 1`,
        ).execute();
        // b's statement has begun (its snapshot taken) once it waits on the lock.
        while (
          (await db!.sql`select 1 from pg_locks where pid = ${pid} and not granted`)
            .length === 0
        ) await new Promise((resolve) => setTimeout(resolve, 5));
        await a.unsafe(`insert into ${schema}.claims values ('x')`);
        await a.unsafe("commit");
        await bClaim;
        assert.equal(
          await taken(a),
          volatility === "volatile" ? 1 : 2,
          `claims after a ${volatility} function's check`,
        );
      }
    } finally {
      a.release();
      b.release();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL: whole-log conditions race tagged, conditional and checking writers without a deadlock",
  ignore: db === undefined,
  async fn() {
    // Each kind of writer that could hold a lock while it waits to insert:
    // a conditional append (its tag key), a multi-stream tagged append (its
    // shared keys) and an append that only checks a stream (its head row) —
    // against conditions that lock the whole events table. Without one lock
    // order, PostgreSQL finds a deadlock and aborts one of them (40P01).
    const store = new PostgresEventStore(db!.sql, { schema: db!.schema() });
    await store.appendToStream("s", [{ type: "Opened", data: {}, tags: ["x"] }]);
    const unexpected: unknown[] = [];
    const counted = async (append: () => Promise<unknown>) => {
      try {
        await append();
        return 1;
      } catch (error) {
        if (error instanceof AppendConditionError || error instanceof ConcurrencyError) {
          return 0;
        }
        unexpected.push(error);
        return 0;
      }
    };
    let landed = 0;
    for (let round = 0; round < soak(40, 10); round++) {
      const { head } = await store.readQuery([{ types: ["Closed"] }]);
      const tagged = await store.readQuery([{ tags: ["x"] }]);
      const version = await store.streamVersion("s");
      const writes = await Promise.all([
        // Whole-log conditions writing to s, one tagged like the others.
        counted(() =>
          store.appendToStream("s", [{ type: "Closed", data: { round }, tags: ["x"] }], {
            condition: { failIfEventsMatch: [{ types: ["Closed"] }], after: head },
          })
        ),
        counted(() =>
          store.appendToStream(`all-${round}`, [{ type: "Noted", data: {} }], {
            condition: { failIfEventsMatch: "all", after: tagged.head },
          })
        ),
        // A tag-key condition, a multi-stream tagged append, a check of s.
        counted(() =>
          store.appendToStream(`x-${round}`, [{ type: "Seen", data: {}, tags: ["x"] }], {
            condition: { failIfEventsMatch: [{ tags: ["x"] }], after: tagged.head },
          })
        ),
        counted(() =>
          store.appendToStreams([
            { streamId: `m-${round}`, events: [{ type: "Seen", data: {}, tags: ["x"] }] },
            { streamId: `n-${round}`, events: [{ type: "Seen", data: {}, tags: ["y"] }] },
          ])
        ),
        counted(() =>
          store.appendToStreams([
            { streamId: "s", events: [], expectedVersion: version },
            { streamId: `t-${round}`, events: [{ type: "Seen", data: {} }] },
          ])
        ),
      ]);
      landed += writes.reduce((sum: number, n) => sum + n, 0);
    }
    assert.deepEqual(unexpected, [], "only condition and version refusals");
    // The unconditional multi-stream append always lands; others when first.
    assert.ok(landed >= soak(40, 10), `${landed} appends landed`);
    await store.close();
  },
});

Deno.test({
  name:
    "PostgreSQL atomic audit: the record and the events commit together or not at all",
  ignore: db === undefined,
  async fn(t) {
    const schema = db!.schema();
    const log = new PostgresCommandLog(db!.sql, { schema });
    const store = new PostgresEventStore(db!.sql, { schema, commandLog: log });
    await checkAtomicAudit(t, store, log);
    await checkEveryCommandRecorded(t, store, log);
    await store.close();
  },
});

Deno.test({
  name: "PostgreSQL: a process killed with SIGKILL mid-batch leaves no partial batch",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const store = new PostgresEventStore(db!.sql, { schema });
    await store.streamVersion("create-the-schema");
    const killedMidAppend = await killWriterMidAppend(
      (round) => [
        "run",
        "-A",
        "tests/support/pg_batch_writer.ts",
        db!.url,
        schema,
        String(round),
      ],
      (round) => (round * 11) % 40,
    );
    assert.ok(
      killedMidAppend > 0,
      "the writer was killed inside an append at least once",
    );
    // The server rolls back what the killed connection left unfinished.
    const rows = await db!.sql.unsafe<{ batch: string; count: number }[]>(
      `select data->>'batch' as batch, count(*)::int as count from ${schema}.events
       group by 1`,
    );
    assert.ok(rows.length >= 2, `batches committed: ${rows.length}`);
    for (const row of rows) assert.equal(row.count, 2_000, `batch ${row.batch} is whole`);
    for (let s = 0; s < 3; s++) {
      const events = await store.readStream(`batch-${s}`);
      assert.equal(
        await store.streamVersion(`batch-${s}`),
        events.length,
        "head = events",
      );
    }
    await store.close();
  },
});

Deno.test({
  name:
    "PostgreSQL: a follower's wait, readAll and readQuery use their indexes under the generic plan prepared statements settle on",
  ignore: db === undefined,
  async fn() {
    // A prepared statement is planned for its parameters 5 times, then
    // PostgreSQL may keep one generic plan. A generic plan that scans the
    // table makes every wake-up of every follower cost the whole log.
    const schema = db!.schema();
    const store = new PostgresEventStore(db!.sql, { schema });
    for (let i = 0; i < 20; i++) {
      await store.appendToStream(
        `s-${i}`,
        Array.from({ length: 500 }, (_, n) => ({
          type: n === 0 ? "Other" : "Filler",
          data: { n },
          tags: [`t:${i}`],
        })),
      );
    }
    await db!.sql.unsafe(`analyze ${schema}.events; analyze ${schema}.event_tags`);
    const [{ head }] = await db!.sql.unsafe(
      `select max(position)::text as head from ${schema}.events`,
    );
    const genericPlan = (query: string, parameters: string, analyze = "") =>
      db!.sql.begin(async (tx) => {
        await tx.unsafe("set local plan_cache_mode = force_generic_plan");
        await tx.unsafe(`prepare generic as ${query}`);
        const [row] = await tx.unsafe(
          `explain (${analyze}format json) execute generic${parameters}`,
        );
        await tx.unsafe("deallocate generic");
        return JSON.stringify(row["QUERY PLAN"]);
      });
    for (
      const [name, query, parameters] of [
        ["waitForEvents", waitQuery(schema), `(${head})`],
        ["readAll", readAllQuery(schema), `(${head}, 100)`],
      ]
    ) {
      const plan = await genericPlan(query, parameters);
      assert.doesNotMatch(
        plan,
        /Seq Scan/,
        `${name}'s generic plan scans the table: ${plan}`,
      );
      assert.match(plan, /"Index Name":"events_pkey"/, `${name}'s generic plan: ${plan}`);
    }
    // readQuery from the start of the log: candidates by the tag table or
    // the type index, then each event by its position — never a scan of
    // the events after the read's position, which is the whole log here.
    // So does the look of a conditional append in a transaction.
    for (
      const [name, query, matches] of [
        ["readQuery by tag", [{ tags: ["t:3"] }], 500],
        ["readQuery by type", [{ types: ["Other"] }], 20],
        ["a transaction's look by tag", [{ tags: ["t:3"] }], 500],
        ["a transaction's look by type", [{ types: ["Other"] }], 20],
      ] as const
    ) {
      const { text } = name.startsWith("readQuery")
        ? readQueryStatement(schema, query, 0)
        : checkStatement(schema, { failIfEventsMatch: query, after: 0 });
      const argument = "tags" in query[0] ? "'{t:3}'" : "'{Other}'";
      const plan = await genericPlan(text, `(0, ${argument})`, "analyze, ");
      assert.doesNotMatch(
        plan,
        /Seq Scan/,
        `${name}'s generic plan scans a table: ${plan}`,
      );
      const read = rowsRead(JSON.parse(plan), "events");
      assert.ok(
        read <= 2 * matches,
        `${name} reads ${read} rows of events for ${matches} matches: ${plan}`,
      );
    }
    // A conditional append's look, made by the schema's function with the
    // generic plans it keeps: auto_explain shows its nested query's plan.
    const notices: string[] = [];
    const traced = postgres(db!.url, {
      max: 1,
      onnotice: (notice) => notices.push(String(notice.message)),
    });
    try {
      await traced.unsafe("load 'auto_explain'");
    } catch (error) {
      console.warn(
        `\n⚠ SKIPPING the plan of a conditional append's look: auto_explain does not load here (${error})\n`,
      );
      await traced.end();
      await store.close();
      return;
    }
    await traced.unsafe(
      `set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on;
       set auto_explain.log_analyze = on; set auto_explain.log_format = json;
       set client_min_messages = log`,
    );
    const conditional = new PostgresEventStore(traced, { schema });
    for (let i = 0; i < 7; i++) {
      await conditional.appendToStream(`c-${i}`, [{
        type: "Other",
        data: {},
        tags: ["t:3"],
      }], {
        condition: { failIfEventsMatch: [{ types: ["Nope"], tags: ["t:3"] }], after: 0 },
      });
    }
    // And on one connection, the tagged and conditional appends and
    // readQuery settle on their generic plans after PostgreSQL's five custom
    // ones, instead of being planned again at every call.
    await traced.unsafe(
      "set client_min_messages = warning; set auto_explain.log_min_duration = -1",
    );
    for (let i = 0; i < 10; i++) {
      await conditional.readQuery([{ tags: [`t:${i}`] }]);
      await conditional.appendToStream(`g-${i}`, [{
        type: "A",
        data: {},
        tags: [`g:${i}`],
      }]);
      await conditional.appendToStream(`h-${i}`, [{
        type: "A",
        data: {},
        tags: [`h:${i}`],
      }], {
        condition: { failIfEventsMatch: [{ tags: [`h:${i}`] }], after: 0 },
      });
      await conditional.appendToStreams([
        { streamId: `m-${i}`, events: [{ type: "A", data: {}, tags: [`m:${i}`] }] },
        { streamId: `n-${i}`, events: [{ type: "A", data: {} }] },
      ], { condition: { failIfEventsMatch: [{ tags: [`m:${i}`] }], after: 0 } });
    }
    const plans = await traced.unsafe<{ statement: string; custom_plans: number }[]>(
      `select statement, custom_plans::int from pg_prepared_statements
       where statement like '%event_tags%'`,
    );
    assert.equal(
      plans.length,
      4,
      "readQuery, the tagged and the conditional append, a transaction's look",
    );
    for (const { statement, custom_plans } of plans) {
      assert.ok(custom_plans <= 5, `${custom_plans} custom plans: ${statement}`);
    }
    await traced.end();
    const look = notices.filter((notice) => notice.includes("event_tags t")).at(-1);
    assert.ok(look, "auto_explain showed the look's plan");
    const plan = JSON.parse(look.slice(look.indexOf("{")));
    const read = rowsRead(plan, "events");
    assert.ok(
      read <= 2 * 507,
      `the look reads ${read} rows of events for 507 candidates: ${look}`,
    );
    await store.close();
  },
});

Deno.test({
  name: "PostgreSQL: readAll, findByCorrelation and findByType use their indexes",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const store = new PostgresEventStore(db!.sql, { schema });
    const log = new PostgresCommandLog(db!.sql, { schema });
    for (let i = 0; i < 50; i++) {
      await store.appendToStream(
        `s-${i}`,
        Array.from({ length: 100 }, (_, n) => ({ type: "Filler", data: { n } })),
      );
    }
    await Promise.all(
      Array.from({ length: 5_000 }, (_, i) =>
        log.record(
          sampleCommandRecord({
            correlationId: `corr-${i % 1_000}`,
            type: `Type${i % 50}`,
            timestamp: new Date(Date.UTC(2026, 0, 1) + i),
          }),
        )),
    );
    await db!.sql.unsafe(`analyze ${schema}.events; analyze ${schema}.commands`);
    const plan = async (query: string, parameters: unknown[]) => {
      const rows = await db!.sql.unsafe(
        `explain (format json) ${query}`,
        parameters as never[],
      );
      return JSON.stringify(rows[0]["QUERY PLAN"]);
    };
    const readAll = await plan(readAllQuery(schema), [1_000, 100]);
    assert.match(readAll, /"Index Name":"events_pkey"/, `readAll plan: ${readAll}`);
    const byCorrelation = await plan(
      `select * from ${schema}.commands where correlation_id = $1 order by recorded_at, id`,
      ["corr-7"],
    );
    assert.match(
      byCorrelation,
      /"Index Name":"commands_by_correlation"/,
      `findByCorrelation plan: ${byCorrelation}`,
    );
    const byType = commandPageQuery(schema, { type: "Type7", limit: 101 });
    const byTypePlan = await plan(byType.text, byType.parameters);
    assert.match(
      byTypePlan,
      /"Index Name":"commands_by_type"/,
      `findByType plan: ${byTypePlan}`,
    );
    await store.close();
  },
});

Deno.test({
  name:
    "PostgreSQL: two instances of one consumer — one handles events at a time, the other takes over when it stops",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    // Two pools: two sessions, as two processes would have.
    const [poolA, poolB] = [postgres(db!.url, { max: 3 }), postgres(db!.url, { max: 3 })];
    const store = new PostgresEventStore(db!.sql, { schema });
    const checkpoints = new PostgresCheckpointStore(db!.sql, { schema });
    let active = 0;
    let overlap = false;
    const handledBy: string[] = [];
    const instance = (id: string, pool: typeof poolA) =>
      new Subscription({
        name: "invoices",
        store,
        checkpoints,
        lock: new PostgresConsumerLock(pool, { pollMs: 20 }),
        pollIntervalMs: 20,
        checkpointEvery: { events: 1 },
        handle: async () => {
          if (++active > 1) overlap = true;
          handledBy.push(id);
          await new Promise((resolve) => setTimeout(resolve, 1));
          active--;
        },
      });
    const a = instance("a", poolA).start();
    await a.waitUntilCaughtUp();
    const b = instance("b", poolB).start(); // waits on the lock
    for (let i = 0; i < 20; i++) {
      await store.appendToStream(`invoice-${i}`, [{ type: "Issued", data: { i } }]);
    }
    await a.waitUntilCaughtUp();
    assert.deepEqual(
      [...new Set(handledBy)],
      ["a"],
      "only a handled events while it ran",
    );
    await a.stop();
    for (let i = 20; i < 30; i++) {
      await store.appendToStream(`invoice-${i}`, [{ type: "Issued", data: { i } }]);
    }
    await b.waitUntilCaughtUp();
    await b.stop();
    assert.equal(overlap, false, "never two handlers at once");
    assert.equal(handledBy.length, 30, "every event once");
    assert.deepEqual(
      handledBy.slice(20),
      Array(10).fill("b"),
      "b took over after a stopped",
    );
    await store.close();
    await poolA.end();
    await poolB.end();
  },
});

Deno.test({
  name: `PostgreSQL: inline and async balances agree with the event log after ${
    soak(10_000, 2_000)
  } random commands`,
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const documents = new PostgresDocumentStore(db!.sql, { schema });
    const events = new PostgresEventStore(db!.sql, {
      schema,
      inlineProjections: { store: documents, projections: bankInlineProjections },
    });
    await checkBankProjections(
      { events, documents, close: () => events.close() },
      soak(10_000, 2_000),
    );
    await events.close();
  },
});

Deno.test({
  name:
    "PostgreSQL: multi-stream appends naming the same streams in opposite orders queue instead of deadlocking",
  ignore: db === undefined,
  async fn() {
    const store = new PostgresEventStore(db!.sql, { schema: db!.schema() });
    const event = { type: "Moved", data: {} };
    // 16 at a time, half A then B, half B then A: each pair of opposite
    // orders could deadlock if rows were locked in the order given.
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          store.appendToStreams(
            i % 2 === 0
              ? [{ streamId: "a", events: [event] }, { streamId: "b", events: [event] }]
              : [{ streamId: "b", events: [event] }, { streamId: "a", events: [event] }],
          )),
      );
      // Positions still follow the order the streams were given.
      for (const [first, second] of results) {
        assert.ok(first.events[0].position < second.events[0].position);
      }
    }
    assert.equal(await store.streamVersion("a"), 320);
    assert.equal(await store.streamVersion("b"), 320);
    assert.equal((await store.readAll()).length, 640);
    await store.close();
  },
});

Deno.test({
  name:
    "PostgreSQL live follow: followers in the process wake at every commit, other processes on a throttled NOTIFY that close() still sends",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const warmUp = new PostgresEventStore(db!.sql, { schema });
    const [first] = (await warmUp.appendToStream("warm-up", [{ type: "A", data: {} }]))
      .events;
    await warmUp.close(); // its NOTIFY is out before anyone listens
    // A second pool stands for another process: it hears only NOTIFYs.
    const other = postgres(db!.url, { max: 2, onnotice: () => {} });
    const notifications: string[] = [];
    const listening = await other.listen(`verdict_${schema}`, (payload) => {
      notifications.push(payload);
    });
    // After its first NOTIFY, this writer sends the next one only when it
    // closes: the interval is longer than the test.
    const writer = new PostgresEventStore(db!.sql, { schema, notifyInterval: 600_000 });
    const elsewhere = new PostgresEventStore(other, { schema });
    await checkThrottledWakeUps({
      writer,
      elsewhere,
      after: first.position,
      signals: () => notifications.length,
      signal: "NOTIFY",
    });
    await elsewhere.close();
    await listening.unlisten();
    await other.end();
    assert.throws(
      () => new PostgresEventStore(db!.sql, { schema, notifyInterval: -1 }),
      /notifyInterval must be a number of milliseconds >= 0, got -1/,
    );
  },
});

Deno.test({
  name:
    "PostgreSQL live follow: events an older open transaction holds back reach a follower once it ends, with no NOTIFY after",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const writer = new PostgresEventStore(db!.sql, { schema });
    const [first] = (await writer.appendToStream("s", [{ type: "A", data: {} }])).events;
    // Another process follows; it polls only every 10 minutes.
    const other = postgres(db!.url, { max: 2, onnotice: () => {} });
    const elsewhere = new PostgresEventStore(other, { schema });
    const stop = new AbortController();
    const next = (async () => {
      for await (
        const event of follow(elsewhere, {
          after: first.position,
          signal: stop.signal,
          pollIntervalMs: 600_000,
        })
      ) return event;
    })();
    // A transaction with an xid, begun before the append, stays open: the
    // append commits (and NOTIFYs) behind it, so readers may not see it yet.
    const blocker = await openTransaction(db!.url);
    await writer.appendToStream("s", [{ type: "B", data: {} }]);
    // Read by the follower's store: the writer's own readAll would wait for it.
    assert.deepEqual(await elsewhere.readAll({ after: first.position }), [], "held back");
    await new Promise((resolve) => setTimeout(resolve, 100)); // the NOTIFY came and went
    await blocker.end();
    // Without a second look, the follower would wait for the next NOTIFY or
    // its 10-minute poll; fail instead of hanging.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const event = await Promise.race([
      next,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("the follower did not see the released event in 30 s")),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(event?.type, "B");
    stop.abort();
    await Promise.all([writer.close(), elsewhere.close()]);
    await other.end();
  },
});

Deno.test({
  name:
    "PostgreSQL: readAll sees the store's own append that an older open transaction holds back, once it ends",
  ignore: db === undefined,
  async fn() {
    const schema = db!.schema();
    const store = new PostgresEventStore(db!.sql, { schema });
    const [first] = (await store.appendToStream("s", [{ type: "A", data: {} }])).events;
    // Another writer's transaction, begun before the append, is still open.
    const blocker = await openTransaction(db!.url);
    await store.appendToStream("s", [{ type: "B", data: {} }]);
    const read = store.readAll({ after: first.position });
    // The read's first look finds B held back; the transaction then ends.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await blocker.end();
    assert.deepEqual((await read).map((e) => e.type), ["B"]);
    await store.close();
  },
});

/**
 * Opens a transaction that takes an xid at once and stays open until
 * `end()`, on a connection of its own: what commits after it began stays
 * below readers' horizon until then.
 */
async function openTransaction(url: string): Promise<{ end(): Promise<void> }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let begun!: () => void;
  const isBegun = new Promise<void>((resolve) => begun = resolve);
  const transaction = sql.begin(async (tx) => {
    await tx`select pg_current_xact_id()`;
    begun();
    await released;
  });
  await isBegun;
  return {
    async end() {
      release();
      await transaction;
      await sql.end();
    },
  };
}

Deno.test({
  name:
    "PostgreSQL: stores left open do not keep a process alive once idle, and do while it waits for events",
  ignore: db === undefined,
  async fn() {
    const script = new URL("./support/unclosed_postgres.ts", import.meta.url).pathname;
    const run = (schema: string, mode: string) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, db!.url, schema, mode],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      // A process that never ends fails the test instead of hanging it.
      const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
      return {
        async next(): Promise<string | undefined> {
          const { value } = await lines.next();
          return value?.trim();
        },
        async ended(): Promise<Deno.CommandStatus> {
          for await (const _ of lines) { /* drain */ }
          const status = await child.status;
          clearTimeout(kill);
          return status;
        },
      };
    };

    // Idle after its append: the process ends by itself (the old pool's 60 s
    // idle timer kept it alive past the 30 s this test allows).
    const idle = run(db!.schema(), "append");
    assert.equal(await idle.next(), "appended");
    const idleStatus = await idle.ended();
    assert.equal(idleStatus.signal, null, "ended by itself, not killed");
    assert.equal(idleStatus.code, 0);

    // Waiting for events: the process stays until an event arrives.
    const schema = db!.schema();
    const waiter = run(schema, "wait");
    assert.equal(await waiter.next(), "waiting");
    // Time for the child to reach its wait: an event there before it waits
    // would end it without testing that the wait keeps it alive.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const store = new PostgresEventStore(db!.sql, { schema });
    await store.appendToStream("from-outside", [{ type: "Poke", data: {} }]);
    assert.equal(await waiter.next(), "woken", "it was still there to hear the event");
    const waiterStatus = await waiter.ended();
    assert.equal(waiterStatus.signal, null, "ended by itself, not killed");
    assert.equal(waiterStatus.code, 0);
    await store.close();
  },
});

// Last: the tests above share the database.
Deno.test({
  name: "PostgreSQL: close the behaviour tests' database",
  ignore: db === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await db!.close();
  },
});

/** The rows a plan run with ANALYZE read from `table`, over all its nodes. */
function rowsRead(plan: unknown, table: string): number {
  if (Array.isArray(plan)) return plan.reduce((sum, p) => sum + rowsRead(p, table), 0);
  if (typeof plan !== "object" || plan === null) return 0;
  const node = plan as Record<string, unknown>;
  const own = node["Relation Name"] === table
    ? Number(node["Actual Rows"]) * Number(node["Actual Loops"])
    : 0;
  return own +
    Object.values(node).reduce<number>((sum, v) => sum + rowsRead(v, table), 0);
}
