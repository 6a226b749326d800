import type { DocumentProjection } from "@verdict/verdict";
import assert from "node:assert/strict";
import {
  PostgresCheckpointStore,
  PostgresCommandLog,
  PostgresDocumentStore,
  PostgresEventStore,
  PostgresSnapshotStore,
} from "@verdict/verdict/postgres";
import {
  checkpointStoreContract,
  commandLogContract,
  type DamageKit,
  eventStoreContract,
  eventStoreDamageContract,
  exactlyOnceContract,
  projectionContract,
  snapshotStoreContract,
  streamHeads,
} from "@verdict/verdict/testing";
import { testDatabase } from "./support/postgres.ts";

const db = await testDatabase();

Deno.test({
  name: "PostgreSQL stores keep every contract",
  ignore: db === undefined,
  async fn(t) {
    const { sql } = db!;
    await t.step("the event store keeps the event-store contract", async (t) => {
      for (
        const c of eventStoreContract(() =>
          new PostgresEventStore(sql, { schema: db!.schema() })
        )
      ) {
        await t.step(c.name, c.run);
      }
    });
    await t.step(
      "the event store with its command log keeps the event-store contract",
      async (t) => {
        const factory = () => {
          const schema = db!.schema();
          return new PostgresEventStore(sql, {
            schema,
            commandLog: new PostgresCommandLog(sql, { schema }),
          });
        };
        for (const c of eventStoreContract(factory)) await t.step(c.name, c.run);
      },
    );
    await t.step(
      "the event store with its command log keeps the exactly-once contract",
      async (t) => {
        const factory = () => {
          const schema = db!.schema();
          return new PostgresEventStore(sql, {
            schema,
            commandLog: new PostgresCommandLog(sql, { schema }),
          });
        };
        for (const c of exactlyOnceContract(factory)) await t.step(c.name, c.run);
      },
    );
    await t.step(
      "the event store detects damaged rows: the damage contract",
      async (t) => {
        const schemas = new WeakMap<PostgresEventStore, string>();
        const factory = () => {
          const schema = db!.schema();
          const store = new PostgresEventStore(sql, { schema });
          schemas.set(store, schema);
          return store;
        };
        const kit: DamageKit<PostgresEventStore> = {
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
              `delete from ${schemas.get(
                store,
              )!}.events where stream_id = $1 and version = $2`,
              [streamId, version],
            );
          },
        };
        for (const c of eventStoreDamageContract(factory, kit)) {
          await t.step(c.name, c.run);
        }
      },
    );
    await t.step("the stores keep the document-projection contract", async (t) => {
      const factory = (projections: readonly DocumentProjection[]) => {
        const schema = db!.schema();
        const documents = new PostgresDocumentStore(sql, { schema });
        const events = new PostgresEventStore(sql, {
          schema,
          inlineProjections: { store: documents, projections },
        });
        return {
          events,
          documents,
          close: () => events.close(),
        };
      };
      for (const c of projectionContract(factory)) await t.step(c.name, c.run);
    });
    await t.step(
      "the event store with inline projections keeps the event-store contract",
      async (t) => {
        const factory = () => {
          const schema = db!.schema();
          return new PostgresEventStore(sql, {
            schema,
            inlineProjections: {
              store: new PostgresDocumentStore(sql, { schema }),
              projections: [streamHeads],
            },
          });
        };
        for (const c of eventStoreContract(factory)) await t.step(c.name, c.run);
      },
    );
    await t.step("the command log keeps the command-log contract", async (t) => {
      for (
        const c of commandLogContract(() =>
          new PostgresCommandLog(sql, { schema: db!.schema() })
        )
      ) {
        await t.step(c.name, c.run);
      }
    });
    await t.step("the snapshot store keeps the snapshot contract", async (t) => {
      for (
        const c of snapshotStoreContract(() =>
          new PostgresSnapshotStore(sql, { schema: db!.schema() })
        )
      ) {
        await t.step(c.name, c.run);
      }
    });
    await t.step("the checkpoint store keeps the checkpoint contract", async (t) => {
      for (
        const c of checkpointStoreContract(() =>
          new PostgresCheckpointStore(sql, { schema: db!.schema() })
        )
      ) {
        await t.step(c.name, c.run);
      }
    });
  },
});

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
