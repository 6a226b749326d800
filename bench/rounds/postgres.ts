/**
 * `deno task bench:rounds postgres`: the PostgreSQL command benches of
 * `bench/postgres_bench.ts`, run in alternating rounds — raw, verdict,
 * verdict + audit, raw workers, verdict workers, then again — so the
 * machine's drift lands on both sides alike. Prints each round's ratios and
 * their medians.
 */
import postgres from "postgres";
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
  const rows: { raw: number; plain: number; audited: number; rawW: number; w: number }[] =
    [];
  console.log(`PostgreSQL, ${ROUNDS} alternating rounds (ms per command / per 320)`);
  for (let round = 0; round < ROUNDS; round++) {
    const row = {
      raw: await time(() => rawSequential(sequentialRaw, 0, SEQUENTIAL)) / SEQUENTIAL,
      plain: await time(() => commandsSequential(plain, 0, SEQUENTIAL)) / SEQUENTIAL,
      audited: await time(() => commandsSequential(audited, 100, SEQUENTIAL)) /
        SEQUENTIAL,
      rawW: await time(() => rawWorkers(raw, 200)),
      w: await time(() => commandWorkers(workers, 200)),
    };
    rows.push(row);
    console.log(
      `  round ${round + 1}: sequential raw ${row.raw.toFixed(2)}, verdict ${
        row.plain.toFixed(2)
      } (${(row.raw / row.plain).toFixed(2)}×), + audit ${row.audited.toFixed(2)} (${
        ((row.audited / row.plain - 1) * 100).toFixed(0)
      }%); 32 workers raw ${row.rawW.toFixed(0)}, verdict ${row.w.toFixed(0)} (${
        (row.rawW / row.w).toFixed(2)
      }×)`,
    );
  }
  const sequential = rows.map((r) => r.raw / r.plain);
  const audit = rows.map((r) => (r.audited / r.plain - 1) * 100);
  const parallel = rows.map((r) => r.rawW / r.w);
  console.log(
    `  medians: sequential ${median(sequential).toFixed(2)}× (${
      range(sequential)
    }), atomic audit ${median(audit).toFixed(0)}% (${range(audit, 0)}), 32 workers ${
      median(parallel).toFixed(2)
    }× (${range(parallel)})`,
  );
} finally {
  await Promise.all([stores.close(), sequentialStores.close()]);
  await Promise.all([raw.end(), sequentialRaw.end()]);
  await server.stop();
}
