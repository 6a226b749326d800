/**
 * `deno task bench:rounds postgres-cold [rounds]`: PostgreSQL with the
 * decider handler's cache off, so every command reads its stream, beside
 * raw floors in alternating rounds:
 *
 * - sequential commands, and 32 workers on their own streams, beside the
 *   raw 4-round-trip command: BEGIN, SELECT the stream's events (the columns
 *   verdict reads) and fold them, INSERT, COMMIT. A second floor selects
 *   only the stream's version, which no command that decides on state can
 *   do, and is printed as a bound;
 * - the 32 workers again with verdict on a pool of 8: its appends are single
 *   statements, which postgres.js pipelines on a busy connection, so fewer
 *   connections than workers serve it best; the floor's transactions hold a
 *   connection each and are best at 16–32 (a sweep of 4, 8, 16 and 32 is in
 *   bench/README.md);
 * - one 100,000-event stream read and folded, beside a raw `select` of the
 *   same rows with `JSON.parse` of their data and metadata.
 *
 * Prints each round and the medians of the paired ratios (the floor's time
 * over verdict's: 1 = as fast as the floor).
 */
import postgres from "postgres";
import {
  CommandBus,
  deciderHandler,
  type EventStore,
  fold,
  uuidv7,
} from "@verdict/verdict";
import { openPostgresStores } from "@verdict/verdict/postgres";
import { accountDefinition, type BankCommand } from "../../examples/bank.ts";
import { median, roundsArgument, time } from "./shared.ts";
import { startPostgres } from "../../tests/support/start_postgres.ts";

const ROUNDS = roundsArgument("bench:rounds postgres-cold", 7);
const STREAMS = 128;
const SEQUENTIAL = 256;
const WORKERS = 32;
const PER_WORKER = 16;
const LOAD = 100_000;

const server = await startPostgres();
const schema = `cold_${Date.now()}`;
// The workers' pools have all 32 connections open. A sequential client's
// pools are apart: used one call at a time, each keeps one connection open.
// (postgres.js hands out idle connections in turn: a sequential client on
// a pool of 32 open connections sends each statement to a backend that has
// been asleep, which on this 2-core machine costs verdict's two statements
// a command more than the floor's four on one connection; measured and
// written up in bench/README.md.)
const raw = postgres(server.url, { max: WORKERS, onnotice: () => {} });
const stores = openPostgresStores(server.url, { schema, max: WORKERS });
const POOL_OF_8 = 8;
const storesOf8 = openPostgresStores(server.url, { schema, max: POOL_OF_8 });
const sequentialRaw = postgres(server.url, { max: WORKERS, onnotice: () => {} });
const sequentialStores = openPostgresStores(server.url, { schema, max: WORKERS });

/** The bank's account decider with its cache off: every command reads its stream. */
function coldBus(store: EventStore): CommandBus<BankCommand> {
  const handler = deciderHandler({ ...accountDefinition, store, cache: false });
  return new CommandBus<BankCommand>()
    .register("OpenAccount", handler)
    .register("Deposit", handler);
}

const evolve = accountDefinition.decider.evolve;
const initial = accountDefinition.decider.initialState;

const deposit = (i: number): BankCommand => ({
  type: "Deposit",
  data: { accountId: `a${i % STREAMS}`, amount: 1 },
});

/**
 * The raw floor's command: 4 round trips, reading the stream's events and
 * folding them (or, `versionOnly`, reading just its version).
 */
async function rawCommand(
  pool: postgres.Sql,
  i: number,
  versionOnly = false,
): Promise<void> {
  const streamId = `a${i % STREAMS}`;
  await pool.begin(async (tx) => {
    let version: number;
    if (versionOnly) {
      [{ version }] = await tx.unsafe(
        "select coalesce(max(version), 0)::int as version from cold_raw.events where stream_id = $1",
        [streamId],
        { prepare: true },
      );
    } else {
      const rows = await tx.unsafe(
        `select position::float8 as position, event_id, stream_id, version::float8 as version,
                type, data, metadata, created_at
         from cold_raw.events where stream_id = $1 order by version`,
        [streamId],
        { prepare: true },
      );
      let state = initial();
      for (const row of rows) state = evolve(state, row as never);
      version = rows.length;
      if (state.balance < 0) throw new Error("unreachable");
    }
    await tx.unsafe(
      `insert into cold_raw.events (event_id, stream_id, version, type, data, metadata)
       values ($1, $2, $3, 'MoneyDeposited', $4, '{}')`,
      [uuidv7(), streamId, version + 1, { accountId: streamId, amount: 1 }] as never[],
      { prepare: true },
    );
  });
}

async function verdictCommand(bus: CommandBus<BankCommand>, i: number): Promise<void> {
  const result = await bus.dispatch(deposit(i));
  if (result.status !== "accepted") throw new Error(`not accepted: ${result.status}`);
}

/** `SEQUENTIAL` commands one after another. */
async function sequential(command: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < SEQUENTIAL; i++) await command(i);
}

/** `WORKERS` lanes, each on its own streams, `PER_WORKER` commands each. */
async function workers(command: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let k = 0; k < PER_WORKER; k++) await command(w + k * WORKERS);
    }),
  );
}

async function verdictLoad(): Promise<number> {
  const state = fold(accountDefinition.decider, await stores.events.readStream("big"));
  return state.balance;
}

/** The same rows selected raw, data and metadata parsed, folded. */
async function rawLoad(): Promise<number> {
  const rows = await raw.unsafe(
    `select position::float8 as position, event_id, stream_id, version::float8 as version,
            type, data::text as data, metadata::text as metadata, created_at
     from ${schema}.events where stream_id = 'big' order by version`,
    [],
    { prepare: true },
  );
  let state = initial();
  for (const row of rows) {
    state = evolve(state, {
      id: row.event_id,
      type: row.type,
      data: JSON.parse(row.data),
      metadata: JSON.parse(row.metadata),
      streamId: row.stream_id,
      version: row.version,
      position: row.position,
      timestamp: row.created_at,
    } as never);
  }
  return state.balance;
}

try {
  await raw.unsafe(`
    drop schema if exists cold_raw cascade;
    create schema cold_raw;
    create table cold_raw.events (
      position bigserial primary key, event_id text unique not null, stream_id text not null,
      version bigint not null, type text not null, data jsonb not null, metadata jsonb not null,
      created_at timestamptz not null default now(), unique (stream_id, version));
  `);
  const bus = coldBus(stores.events);
  for (let i = 0; i < STREAMS; i++) {
    await bus.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
  }
  await stores.events.appendToStream("big", [{
    type: "AccountOpened",
    data: { accountId: "big", owner: "o" },
  }]);
  for (let i = 1; i < LOAD; i += 1_000) {
    await stores.events.appendToStream(
      "big",
      Array.from({ length: Math.min(1_000, LOAD - i) }, () => ({
        type: "MoneyDeposited",
        data: { accountId: "big", amount: 1 },
      })),
    );
  }
  for (const pool of [raw, stores.sql]) {
    await Promise.all(Array.from({ length: WORKERS }, () => pool`select pg_sleep(0.01)`));
  }
  const sequentialBus = coldBus(sequentialStores.events);
  const seqVerdict = () => sequential((i) => verdictCommand(sequentialBus, i));
  const seqRaw = () => sequential((i) => rawCommand(sequentialRaw, i));
  const seqVersionOnly = () => sequential((i) => rawCommand(sequentialRaw, i, true));
  const workersVerdict = () => workers((i) => verdictCommand(bus, i));
  const workersRaw = () => workers((i) => rawCommand(raw, i));
  const busOf8 = coldBus(storesOf8.events);
  const workersVerdictOf8 = () => workers((i) => verdictCommand(busOf8, i));
  // A round to warm up: statements prepared on every connection.
  for (
    const run of [
      seqRaw,
      seqVersionOnly,
      seqVerdict,
      workersRaw,
      workersVerdict,
      workersVerdictOf8,
    ]
  ) {
    await run();
  }
  if (await verdictLoad() !== await rawLoad()) throw new Error("the loads disagree");

  const ratios: Record<string, number[]> = {
    "sequential": [],
    [`${WORKERS} workers`]: [],
    "load": [],
    "sequential over the version-only floor": [],
    [`${WORKERS} workers, verdict on a pool of ${POOL_OF_8}`]: [],
  };
  console.log(
    `PostgreSQL, cache off, ${ROUNDS} alternating rounds: ${SEQUENTIAL} sequential commands ` +
      `on ${STREAMS} streams, ${WORKERS} workers × ${PER_WORKER}, a ${LOAD}-event load`,
  );
  const pair = async (
    round: number,
    ours: () => Promise<unknown>,
    floor: () => Promise<unknown>,
  ) => {
    if (round % 2) {
      const f = await time(async () => void await floor());
      return f / await time(async () => void await ours());
    }
    const o = await time(async () => void await ours());
    return await time(async () => void await floor()) / o;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const figures = [
      await pair(round, seqVerdict, seqRaw),
      await pair(round, workersVerdict, workersRaw),
      await pair(round, verdictLoad, rawLoad),
      await pair(round, seqVerdict, seqVersionOnly),
      await pair(round, workersVerdictOf8, workersRaw),
    ];
    Object.values(ratios).forEach((values, i) => values.push(figures[i]));
    console.log(
      `  round ${round + 1}: ` +
        Object.keys(ratios).map((name, i) => `${name} ${figures[i].toFixed(2)}×`).join(
          ", ",
        ),
    );
  }
  for (const [name, values] of Object.entries(ratios)) {
    console.log(
      `  ${name}: ${median(values).toFixed(2)}× the floor (rounds ${
        Math.min(...values).toFixed(2)
      }–${Math.max(...values).toFixed(2)})`,
    );
  }
} finally {
  await Promise.all([stores.close(), sequentialStores.close(), storesOf8.close()]);
  await Promise.all([raw.end(), sequentialRaw.end()]);
  await server.stop();
}
