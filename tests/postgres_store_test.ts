import assert from "node:assert/strict";
import { PostgresEventStore } from "@verdict/verdict/postgres";
import { storeSuites } from "@verdict/verdict/testing";
import { testDatabase } from "./support/postgres.ts";
import { postgresKit } from "./support/postgres_kit.ts";
import { soak } from "./support/soak.ts";

const db = await testDatabase();

const suites = db === undefined
  ? []
  : storeSuites("PostgreSQL", postgresKit(db.sql, db.schema), {
    exactlyOnce: { commands: soak(2_000, 500) },
  });
for (const [suite, cases] of suites) {
  Deno.test(`the ${suite} keeps its contract`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
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
