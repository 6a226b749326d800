/**
 * `deno task bench:rounds postgres`: the PostgreSQL command benches of
 * `bench/postgres_bench.ts`, run in alternating rounds — raw, verdict,
 * verdict + audit, raw workers, verdict workers, 50 appends of 100 events
 * beside as many raw multi-row inserts, then again — so the
 * machine's drift lands on both sides alike. Prints each round's ratios and
 * their medians.
 */
import postgres from "postgres";
import { type EventStore, uuidv7 } from "@verdict/verdict";
import { openPostgresStores } from "@verdict/verdict/postgres";
import { median, roundsArgument, time } from "./shared.ts";
import { startPostgres } from "../../tests/support/start_postgres.ts";
import {
  bankBus,
  commandsSequential,
  commandWorkers,
  createRawTables,
  rawSequential,
  rawWorkers,
} from "../support/postgres_shared.ts";

const ROUNDS = roundsArgument("bench:rounds postgres", 7);
const BATCHES = 50;
const hundred = Array.from({ length: 100 }, (_, i) => ({
  type: "Imported",
  data: { line: i, text: "a line of an imported statement" },
}));
let batch = 0;
/** `BATCHES` raw multi-row inserts of 100 events, each a new stream. */
async function rawBatches(pool: postgres.Sql): Promise<void> {
  for (let b = 0; b < BATCHES; b++) {
    const streamId = `raw-import-${batch++}`;
    await pool`insert into bench_raw.events ${
      pool(hundred.map((event, i) => ({
        event_id: uuidv7(),
        stream_id: streamId,
        version: i + 1,
        type: event.type,
        data: pool.json(event.data),
        metadata: pool.json({}),
      })))
    }`;
  }
}
/** `BATCHES` appends of 100 events, each to a new stream. */
async function verdictBatches(store: EventStore): Promise<void> {
  for (let b = 0; b < BATCHES; b++) {
    await store.appendToStream(`import-${batch++}`, hundred, {
      expectedVersion: "no_stream",
    });
  }
}
const SEQUENTIAL = 100;
const range = (values: number[], digits = 2) =>
  `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

const server = await startPostgres();
const schema = `rounds_${Date.now()}`;
// A sequential client's pools keep one connection open; the workers' pools
// have all 32 open, as in the bench file.
const sequentialRaw = postgres(server.url, { max: 32, onnotice: () => {} });
const sequentialStores = openPostgresStores(server.url, { schema, max: 32 });
const raw = postgres(server.url, { max: 32, onnotice: () => {} });
const stores = openPostgresStores(server.url, { schema, max: 32 });
try {
  await createRawTables(raw);
  // Each bus writes its own accounts: a bus whose cached state another bus
  // made stale would pay a conflict per stream per round.
  const plain = bankBus(sequentialStores, false);
  const audited = bankBus(sequentialStores, true);
  const workers = bankBus(stores, false);
  for (let i = 0; i < 400; i++) {
    await workers.dispatch({
      type: "OpenAccount",
      data: { accountId: `a${i}`, owner: "o" },
    });
  }
  for (const pool of [raw, stores.sql]) {
    await Promise.all(Array.from({ length: 32 }, () => pool`select pg_sleep(0.01)`));
  }
  // A round to warm up: caches filled, statements prepared on every connection.
  await rawSequential(sequentialRaw, 0, SEQUENTIAL);
  await commandsSequential(plain, 0, SEQUENTIAL);
  await commandsSequential(audited, 100, SEQUENTIAL);
  await rawWorkers(raw, 200);
  await commandWorkers(workers, 200);
  await rawBatches(sequentialRaw);
  await verdictBatches(sequentialStores.events);
  const rows: {
    raw: number;
    plain: number;
    audited: number;
    rawW: number;
    w: number;
    batch: number;
  }[] = [];
  console.log(`PostgreSQL, ${ROUNDS} alternating rounds (ms per command / per 320)`);
  for (let round = 0; round < ROUNDS; round++) {
    const row = {
      raw: await time(() => rawSequential(sequentialRaw, 0, SEQUENTIAL)) / SEQUENTIAL,
      plain: await time(() => commandsSequential(plain, 0, SEQUENTIAL)) / SEQUENTIAL,
      audited: await time(() => commandsSequential(audited, 100, SEQUENTIAL)) /
        SEQUENTIAL,
      rawW: await time(() => rawWorkers(raw, 200)),
      w: await time(() => commandWorkers(workers, 200)),
      // Each side first in turn: the raw inserts' time over verdict's.
      batch: round % 2
        ? await time(() => rawBatches(sequentialRaw)) /
          await time(() => verdictBatches(sequentialStores.events))
        : 1 / (await time(() => verdictBatches(sequentialStores.events)) /
          await time(() => rawBatches(sequentialRaw))),
    };
    rows.push(row);
    console.log(
      `  round ${round + 1}: sequential raw ${row.raw.toFixed(2)}, verdict ${
        row.plain.toFixed(2)
      } (${(row.raw / row.plain).toFixed(2)}×), + audit ${row.audited.toFixed(2)} (${
        ((row.audited / row.plain - 1) * 100).toFixed(0)
      }%); 32 workers raw ${row.rawW.toFixed(0)}, verdict ${row.w.toFixed(0)} (${
        (row.rawW / row.w).toFixed(2)
      }×); 100-event batches ${row.batch.toFixed(2)}× the raw multi-row insert`,
    );
  }
  const sequential = rows.map((r) => r.raw / r.plain);
  const audit = rows.map((r) => (r.audited / r.plain - 1) * 100);
  const parallel = rows.map((r) => r.rawW / r.w);
  const batches = rows.map((r) => r.batch);
  console.log(
    `  medians: sequential ${median(sequential).toFixed(2)}× (${
      range(sequential)
    }), atomic audit ${median(audit).toFixed(0)}% (${range(audit, 0)}), 32 workers ${
      median(parallel).toFixed(2)
    }× (${range(parallel)}), 100-event batches ${median(batches).toFixed(2)}× (${
      range(batches)
    })`,
  );
} finally {
  await Promise.all([stores.close(), sequentialStores.close()]);
  await Promise.all([raw.end(), sequentialRaw.end()]);
  await server.stop();
}
