/**
 * Projection catch-up per store: a rebuild replays 10,000 events into an
 * in-memory read model (balances per stream). One iteration is one full
 * rebuild, so events/s = 10,000 / time per iteration.
 *
 *   deno bench -A bench/projection_bench.ts
 */

import postgres from "postgres";
import {
  type CheckpointStore,
  type EventStore,
  ProjectionRunner,
} from "@verdict/verdict";
import { KvCheckpointStore, KvEventStore } from "@verdict/verdict/kv";
import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";
import { PostgresCheckpointStore, PostgresEventStore } from "@verdict/verdict/postgres";
import { startPostgres } from "../scripts/start_postgres.ts";

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

globalThis.addEventListener("unload", () => {
  kv.close();
  Deno.removeSync(dir, { recursive: true });
  sql.end().then(() => server.stop());
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
