/**
 * The PostgreSQL stores as the contract suites' kit (`storeSuites`): each
 * store in a fresh schema of one pool, with a damage kit of raw SQL.
 */
import type { Sql } from "postgres";
import {
  PostgresCheckpointStore,
  PostgresCommandLog,
  PostgresDocumentStore,
  PostgresEventStore,
  type PostgresEventStoreOptions,
  PostgresSnapshotStore,
} from "@verdict/verdict/postgres";
import type { DamageKit, StoreSuiteKit } from "@verdict/verdict/testing";

/**
 * The PostgreSQL stores on `sql`, each in a fresh schema; `options` go to
 * every event store.
 */
export function postgresKit(
  sql: Sql,
  newSchema: () => string,
  options: Pick<PostgresEventStoreOptions, "pollInterval"> = {},
): StoreSuiteKit<PostgresEventStore> {
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
    events: () => new PostgresEventStore(sql, { ...options, schema: newSchema() }),
    eventsWithLog: () => {
      const schema = newSchema();
      return new PostgresEventStore(sql, {
        ...options,
        schema,
        commandLog: new PostgresCommandLog(sql, { schema }),
      });
    },
    documents: (projections) => {
      const schema = newSchema();
      const documents = new PostgresDocumentStore(sql, { schema });
      const events = new PostgresEventStore(sql, {
        ...options,
        schema,
        inlineProjections: { store: documents, projections },
      });
      return { events, documents, close: () => events.close() };
    },
    damage: {
      events: () => {
        const schema = newSchema();
        const store = new PostgresEventStore(sql, { ...options, schema });
        schemas.set(store, schema);
        return store;
      },
      kit: damage,
    },
    commandLog: () => new PostgresCommandLog(sql, { schema: newSchema() }),
    checkpoints: () => new PostgresCheckpointStore(sql, { schema: newSchema() }),
    snapshots: () => new PostgresSnapshotStore(sql, { schema: newSchema() }),
    queries: true,
  };
}
