import assert from "node:assert/strict";
import {
  PostgresCheckpointStore,
  PostgresCommandLog,
  PostgresDocumentStore,
  PostgresEventStore,
  PostgresSnapshotStore,
} from "@verdict/verdict/postgres";
import {
  type DamageKit,
  type StoreSuiteKit,
  storeSuites,
} from "@verdict/verdict/testing";
import { type TestDatabase, testDatabase } from "./support/postgres.ts";
import { soak } from "./support/soak.ts";

const db = await testDatabase();

const suites = db === undefined ? [] : storeSuites("PostgreSQL", postgresKit(db), {
  exactlyOnce: { commands: soak(2_000, 500) },
});
for (const [suite, cases] of suites) {
  Deno.test(`the ${suite} keeps its contract`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
}

/** The PostgreSQL stores, each in a fresh schema of the test database. */
function postgresKit(db: TestDatabase): StoreSuiteKit<PostgresEventStore> {
  const { sql } = db;
  const schemas = new WeakMap<PostgresEventStore, string>();
  const damage: DamageKit<PostgresEventStore> = {
    async damage(store, streamId, version, damage) {
      const s = schemas.get(store)!;
      // SQL NULL needs the column's constraint gone: damage, by hand.
      if (damage === "data is missing") {
        await sql.unsafe(`alter table ${s}.events alter column data drop not null`);
      }
      const set = {
        "metadata is an array": "metadata = '[1]'::jsonb",
        "type is empty": "type = ''",
        "data is missing": "data = null",
      }[damage];
      await sql.unsafe(
        `update ${s}.events set ${set} where stream_id = $1 and version = $2`,
        [streamId, version],
      );
    },
    async remove(store, streamId, version) {
      await sql.unsafe(
        `delete from ${schemas.get(store)!}.events where stream_id = $1 and version = $2`,
        [streamId, version],
      );
    },
  };
  return {
    events: () => new PostgresEventStore(sql, { schema: db.schema() }),
    eventsWithLog: () => {
      const schema = db.schema();
      return new PostgresEventStore(sql, {
        schema,
        commandLog: new PostgresCommandLog(sql, { schema }),
      });
    },
    documents: (projections) => {
      const schema = db.schema();
      const documents = new PostgresDocumentStore(sql, { schema });
      const events = new PostgresEventStore(sql, {
        schema,
        inlineProjections: { store: documents, projections },
      });
      return { events, documents, close: () => events.close() };
    },
    damage: {
      events: () => {
        const schema = db.schema();
        const store = new PostgresEventStore(sql, { schema });
        schemas.set(store, schema);
        return store;
      },
      kit: damage,
    },
    commandLog: () => new PostgresCommandLog(sql, { schema: db.schema() }),
    checkpoints: () => new PostgresCheckpointStore(sql, { schema: db.schema() }),
    snapshots: () => new PostgresSnapshotStore(sql, { schema: db.schema() }),
    queries: true,
  };
}

Deno.test({
  name:
    "PostgreSQL refuses a NUL character in event data with a clear error, writing nothing",
  ignore: db === undefined,
  async fn() {
    const store = new PostgresEventStore(db!.sql, { schema: db!.schema() });
    await assert.rejects(
      store.appendToStream("s", [{ type: "A", data: { text: "a\u0000b" } }]),
      /NUL character/,
    );
    assert.equal(await store.streamVersion("s"), 0);
    await store.close();
  },
});

Deno.test({
  name: "PostgreSQL: close the test database",
  ignore: db === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await db!.close();
  },
});
