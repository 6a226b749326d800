/**
 * Projection catch-up per store: a rebuild replays 10,000 events into an
 * in-memory read model (balances per stream). One iteration is one full
 * rebuild, so events/s = 10,000 / time per iteration.
 *
 * Group `document projection catch-up`: the same rebuild by a
 * DocumentProjectionRunner into the store's own projection store (100
 * documents, each batch of 500 events committed with the position).
 *
 * Group `inline projection`: one append of one event on each store, with
 * and without an inline document projection (the balance of its stream).
 *
 *   deno bench -A bench/projection_bench.ts
 */

import postgres from "postgres";
import {
  type CheckpointStore,
  type DocumentProjection,
  DocumentProjectionRunner,
  type DocumentStore,
  type EventStore,
  ProjectionRunner,
} from "@verdict/verdict";
import { KvCheckpointStore, KvDocumentStore, KvEventStore } from "@verdict/verdict/kv";
import {
  MemoryCheckpointStore,
  MemoryDocumentStore,
  MemoryEventStore,
} from "@verdict/verdict/memory";
import {
  PostgresCheckpointStore,
  PostgresDocumentStore,
  PostgresEventStore,
} from "@verdict/verdict/postgres";
import { startPostgres } from "../tests/support/start_postgres.ts";

const EVENTS = 10_000;
type Deposited = { type: "Deposited"; data: { amount: number } };

async function fill(store: EventStore, perAppend: number): Promise<void> {
  for (let written = 0; written < EVENTS; written += perAppend) {
    await store.appendToStream(
      `account-${(written / perAppend) % 100}`,
      Array.from(
        { length: perAppend },
        (_, i) => ({ type: "Deposited", data: { amount: i } }),
      ),
    );
  }
}

function runner(
  store: EventStore,
  checkpoints: CheckpointStore,
): ProjectionRunner<Deposited> {
  const balances = new Map<string, number>();
  return new ProjectionRunner<Deposited>({
    store,
    checkpoints,
    projection: {
      name: "balances",
      project: (e) =>
        void balances.set(e.streamId, (balances.get(e.streamId) ?? 0) + e.data.amount),
      reset: () => balances.clear(),
    },
    subscription: { checkpointEvery: { events: 1_000 } },
  });
}

const memory = new MemoryEventStore();
await fill(memory, 1_000);
const memoryRunner = runner(memory, new MemoryCheckpointStore());

const dir = await Deno.makeTempDir({ prefix: "verdict-projection-bench-" });
const kv = await Deno.openKv(`${dir}/bench.kv`);
const kvStore = new KvEventStore(kv, { prefix: ["projection-bench"] });
await fill(kvStore, 200);
const kvRunner = runner(
  kvStore,
  new KvCheckpointStore(kv, { prefix: ["projection-bench"] }),
);

const server = await startPostgres();
const sql = postgres(server.url, { max: 4, onnotice: () => {} });
const schema = `projection_bench_${Date.now()}`;
const pgStore = new PostgresEventStore(sql, { schema });
await fill(pgStore, 1_000);
const pgRunner = runner(pgStore, new PostgresCheckpointStore(sql, { schema }));

const balances: DocumentProjection<Deposited, number> = {
  name: "balances",
  documentId: (event) => event.streamId,
  evolve: (balance, event) => (balance ?? 0) + event.data.amount,
};

function documentRunner(store: EventStore, documents: DocumentStore) {
  return new DocumentProjectionRunner<Deposited>({
    store,
    documents,
    projection: balances,
  });
}
const memoryDocuments = documentRunner(memory, new MemoryDocumentStore());
const kvDocuments = documentRunner(
  kvStore,
  new KvDocumentStore(kv, { prefix: ["projection-bench"] }),
);
const pgDocuments = documentRunner(pgStore, new PostgresDocumentStore(sql, { schema }));

// Stores for the inline group: the same store with and without the projection.
const inlineSchema = `${schema}_inline`;
const pgPlain = new PostgresEventStore(sql, { schema: inlineSchema });
const pgInline = new PostgresEventStore(sql, {
  schema: inlineSchema,
  inlineProjections: {
    store: new PostgresDocumentStore(sql, { schema: inlineSchema }),
    projections: [balances],
  },
});
const kvPlain = new KvEventStore(kv, { prefix: ["inline-bench"] });
const kvInline = new KvEventStore(kv, {
  prefix: ["inline-bench"],
  inlineProjections: {
    store: new KvDocumentStore(kv, { prefix: ["inline-bench"] }),
    projections: [balances],
  },
});
const memoryPlain = new MemoryEventStore();
const memoryInline = new MemoryEventStore({
  inlineProjections: { store: new MemoryDocumentStore(), projections: [balances] },
});

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
  server.stopSync(); // nothing async runs after the last bench
});

for (
  const [name, projection, baseline] of [
    ["memory store", memoryRunner, true],
    ["Deno KV store", kvRunner, false],
    ["PostgreSQL store", pgRunner, false],
  ] as const
) {
  Deno.bench({
    name: `rebuild from ${name}: 10,000 events`,
    group: "projection catch-up",
    baseline,
    async fn() {
      await projection.rebuild();
    },
  });
}

for (
  const [name, projection, baseline] of [
    ["memory store", memoryDocuments, true],
    ["Deno KV store", kvDocuments, false],
    ["PostgreSQL store", pgDocuments, false],
  ] as const
) {
  Deno.bench({
    name: `document rebuild in ${name}: 10,000 events`,
    group: "document projection catch-up",
    baseline,
    async fn() {
      await projection.rebuild();
    },
  });
}

let n = 0;
const deposit = [{ type: "Deposited", data: { amount: 1 } }];
for (
  const [name, plain, inline] of [
    ["memory", memoryPlain, memoryInline],
    ["Deno KV", kvPlain, kvInline],
    ["PostgreSQL", pgPlain, pgInline],
  ] as const
) {
  Deno.bench({
    name: `${name}: append 1 event`,
    group: `inline projection (${name})`,
    baseline: true,
    async fn() {
      await plain.appendToStream(`account-${n++ % 100}`, deposit);
    },
  });
  Deno.bench({
    name: `${name}: append 1 event + inline balance`,
    group: `inline projection (${name})`,
    async fn() {
      await inline.appendToStream(`account-${n++ % 100}`, deposit);
    },
  });
}
