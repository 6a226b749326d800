// deno-only: it starts PgBouncer, a program of this machine.
// The PostgreSQL stores behind a transaction pooler: PgBouncer in transaction
// mode, which hands each transaction any server connection, so named
// prepared statements, session settings, session locks and LISTEN do not
// carry from one transaction to the next. The same contract suites as on a
// direct connection, and the stores opened with `transactionPooler`.
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  openPostgresStores,
  PostgresEventStore,
  type PostgresStores,
} from "@verdict/verdict/postgres";
import { storeSuites } from "@verdict/verdict/testing";
import { testDatabase } from "./support/postgres.ts";
import { postgresKit } from "./support/postgres_kit.ts";
import { type Pgbouncer, pgbouncerPath, startPgbouncer } from "./support/pgbouncer.ts";

const db = pgbouncerPath ? await testDatabase() : undefined;
const bouncer: Pgbouncer | undefined = db ? await startPgbouncer(db.url) : undefined;
// Unprepared statements, as any client of a transaction pooler must use.
const sql = bouncer
  ? postgres(bouncer.url, { prepare: false, max: 16, onnotice: () => {} })
  : undefined;

const suites = sql === undefined ? [] : storeSuites(
  "PostgreSQL behind PgBouncer in transaction mode",
  postgresKit(sql, db!.schema, {
    pollInterval: 20,
  }),
);
for (const [suite, cases] of suites) {
  Deno.test(`the ${suite} keeps its contract`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
}

Deno.test({
  name:
    "PostgreSQL behind a transaction pooler: openPostgresStores({ transactionPooler }) appends, checks conditions, and a follower in another instance sees the appends",
  ignore: bouncer === undefined,
  async fn() {
    const schema = db!.schema();
    const writer = openPostgresStores(bouncer!.url, { schema, transactionPooler: true });
    const reader = openPostgresStores(bouncer!.url, {
      schema,
      transactionPooler: true,
      pollInterval: 20,
    });
    const stop = new AbortController();
    try {
      const query = [{ tags: ["seat:1"] }];
      const { head } = await writer.events.readQuery(query);
      await writer.events.appendToStream("booking-1", [
        { type: "SeatBooked", data: {}, tags: ["seat:1"] },
      ], { condition: { failIfEventsMatch: query, after: head } });
      await assert.rejects(
        writer.events.appendToStream("booking-2", [
          { type: "SeatBooked", data: {}, tags: ["seat:1"] },
        ], { condition: { failIfEventsMatch: query, after: head } }),
        { name: "AppendConditionError" },
      );
      // The reader waits past everything there is; the writer's next append,
      // which no NOTIFY reaches it about, ends its wait.
      const [last] = await reader.events.readAll({ after: 0 }).then((events) =>
        events.slice(-1)
      );
      const waited = reader.events.waitForEvents!(last.position, stop.signal);
      await writer.events.appendToStream("booking-3", [{ type: "SeatBooked", data: {} }]);
      const timer = setTimeout(() => stop.abort(), 10_000);
      await waited;
      clearTimeout(timer);
      assert.equal(stop.signal.aborted, false, "woken by the poll, not by the deadline");
      const after = await reader.events.readAll({ after: last.position });
      assert.deepEqual(after.map((event) => event.streamId), ["booking-3"]);
    } finally {
      stop.abort();
      await writer.close();
      await reader.close();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL behind a transaction pooler: without transactionPooler the pool's session parameters are refused; a pool that prepares statements is refused",
  ignore: bouncer === undefined,
  async fn() {
    const direct: PostgresStores = openPostgresStores(bouncer!.url, {
      schema: db!.schema(),
    });
    await assert.rejects(
      direct.events.streamVersion("s"),
      /unsupported startup parameter/,
    );
    await direct.close();
    const preparing = postgres(bouncer!.url, { max: 1, onnotice: () => {} });
    assert.throws(
      () => openPostgresStores(preparing, { transactionPooler: true }),
      /prepare: false/,
    );
    await preparing.end();
    assert.throws(
      () => new PostgresEventStore(sql!, { pollInterval: 0 }),
      /pollInterval must be a number of milliseconds >= 1, got 0/,
    );
  },
});

Deno.test({
  name: "PostgreSQL behind a transaction pooler: stop PgBouncer and the test database",
  ignore: db === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await sql?.end();
    await bouncer?.stop();
    await db!.close();
  },
});
