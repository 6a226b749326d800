/**
 * PostgreSQL, against a real server (DATABASE_URL, or an embedded one this
 * bench starts and stops), each group beside raw SQL through postgres.js.
 *
 *   deno bench -A bench/postgres_bench.ts
 */

import postgres from "postgres";
import { uuidv7 } from "@verdict/verdict";
import { openPostgresStores } from "@verdict/verdict/postgres";
import { sampleCommandRecord } from "@verdict/verdict/testing";
import { startPostgres } from "../tests/support/start_postgres.ts";
import {
  bankBus,
  commandsSequential,
  commandWorkers,
  createRawTables,
  rawSequential,
  rawWorkers,
} from "./support/postgres_shared.ts";

const server = await startPostgres();
const schema = `bench_${Date.now()}`;
const raw = postgres(server.url, { max: 32, onnotice: () => {} });
const stores = openPostgresStores(server.url, { schema, max: 32 });
// A sequential client's pools: never asked for two things at once, they keep
// one connection open. (postgres.js hands queries to its open connections in
// turn, so on a pool with 32 open, each statement wakes a backend that sat
// idle: the "32 warm connections" group measures that.)
const sequentialRaw = postgres(server.url, { max: 32, onnotice: () => {} });
const sequentialStores = openPostgresStores(server.url, { schema, max: 32 });
// Nothing async runs after the last bench: stop the server synchronously.
globalThis.addEventListener("unload", () => server.stopSync());

await createRawTables(raw);

const plain = bankBus(stores, false);
const audited = bankBus(stores, true);
const sequentialPlain = bankBus(sequentialStores, false);
const sequentialAudited = bankBus(sequentialStores, true);
// Each bus writes its own accounts (a bus whose cached state another bus made
// stale pays a conflict per stream): sequential a0–a99 and a100–a199, warm
// a200–a299 and a300–a399; the workers, after them, a0–a199.
for (let i = 0; i < 400; i++) {
  await plain.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
}

// Sequential benches run 100 commands per iteration: per command = time / 100.
// (One command per iteration measures the harness between iterations too.)
const SEQUENTIAL = 100;
for (
  const [group, pool, plainBus, auditedBus, first] of [
    ["postgres commands", sequentialRaw, sequentialPlain, sequentialAudited, 0],
    ["postgres commands, 32 warm connections", raw, plain, audited, 200],
  ] as const
) {
  Deno.bench({
    name: `raw: begin, select version, insert, commit × 100 (${group})`,
    group,
    baseline: true,
    async fn() {
      await rawSequential(pool, first, SEQUENTIAL);
    },
  });
  Deno.bench({
    name: `bus + store: 100 sequential commands over 100 streams (${group})`,
    group,
    async fn() {
      await commandsSequential(plainBus, first, SEQUENTIAL);
    },
  });
  Deno.bench({
    name:
      `bus + store + atomic audit: 100 sequential commands over 100 streams (${group})`,
    group,
    async fn() {
      await commandsSequential(auditedBus, first + 100, SEQUENTIAL);
    },
  });
}

// 32 workers × 10 commands each over 200 streams, 32 connections.
Deno.bench({
  name: "raw, 32 workers × 10 appends over 200 streams",
  group: "postgres 32 workers",
  baseline: true,
  async fn() {
    await rawWorkers(raw);
  },
});
Deno.bench({
  name: "bus + store, 32 workers × 10 commands over 200 streams (conflicts retried)",
  group: "postgres 32 workers",
  async fn() {
    await commandWorkers(plain);
  },
});

const hundred = Array.from({ length: 100 }, (_, i) => ({
  type: "Imported",
  data: { line: i, text: "a line of an imported statement" },
}));
let batch = 0;
Deno.bench({
  name: "raw: one multi-row insert of 100 events",
  group: "postgres batch",
  baseline: true,
  async fn() {
    const streamId = `raw-import-${batch++}`;
    await raw`insert into bench_raw.events ${
      raw(hundred.map((event, i) => ({
        event_id: uuidv7(),
        stream_id: streamId,
        version: i + 1,
        type: event.type,
        data: raw.json(event.data),
        metadata: raw.json({}),
      })))
    }`;
  },
});
Deno.bench({
  name: "append 100 events per call",
  group: "postgres batch",
  async fn() {
    await stores.events.appendToStream(`import-${batch++}`, hundred, {
      expectedVersion: "no_stream",
    });
  },
});

Deno.bench({
  name: "append 100 events per call, 8 writers at once (800 events)",
  group: "postgres batch",
  async fn() {
    await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          stores.events.appendToStream(`import-${batch++}`, hundred, {
            expectedVersion: "no_stream",
          }),
      ),
    );
  },
});

// A command log of 100,000 records for the lookups.
await raw.unsafe(
  `insert into bench_raw.commands (id, correlation_id, command_type, payload, recorded_at)
   select 'c' || i, 'corr-' || (i % 20000), 'Deposit', '{}', now() from generate_series(1, 100000) i`,
);
for (let chunk = 0; chunk < 100; chunk++) {
  await Promise.all(
    Array.from({ length: 1_000 }, (_, i) =>
      stores.commandLog.record(
        sampleCommandRecord({ correlationId: `corr-${(chunk * 1_000 + i) % 20_000}` }),
      )),
  );
}
await raw.unsafe(`analyze bench_raw.commands`);
// Top-level code runs before any bench: flush the 200,000 rows just written
// now, so no bench runs beside the checkpoint they would cause.
await raw.unsafe(`vacuum analyze`);
await raw.unsafe(`checkpoint`);
// The two warm pools start the benches alike: all 32 connections open.
for (const pool of [raw, stores.sql]) {
  await Promise.all(Array.from({ length: 32 }, () => pool`select pg_sleep(0.01)`));
}

Deno.bench({
  name: "raw: insert a command row",
  group: "postgres command log",
  baseline: true,
  async fn() {
    await raw`insert into bench_raw.commands (id, correlation_id, command_type, payload, recorded_at)
              values (${uuidv7()}, 'corr-x', 'Deposit', '{}', now())`;
  },
});
Deno.bench({
  name: "record() with 100,000 records in the log",
  group: "postgres command log",
  async fn() {
    await stores.commandLog.record(sampleCommandRecord({ correlationId: "corr-new" }));
  },
});
let lookup = 0;
Deno.bench({
  name: "raw: select by correlation id",
  group: "postgres command lookup",
  baseline: true,
  async fn() {
    await raw`select * from bench_raw.commands where correlation_id = ${`corr-${
      lookup++ % 20000
    }`}
              order by recorded_at, id`;
  },
});
Deno.bench({
  name: "findByCorrelation() among 100,000 records",
  group: "postgres command lookup",
  async fn() {
    await stores.commandLog.findByCorrelation(`corr-${lookup++ % 20_000}`);
  },
});
