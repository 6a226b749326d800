/**
 * What the PostgreSQL bench and the alternating-rounds runner share: the raw
 * tables and the classic 4-round-trip append of the baselines, and the bank
 * bus on verdict's stores.
 */

import type postgres from "postgres";
import { type CommandBus, uuidv7 } from "@verdict/verdict";
import type { PostgresStores } from "@verdict/verdict/postgres";
import type { BankCommand } from "../../examples/bank.ts";
import { benchBank } from "./bank_bus.ts";

/**
 * Creates the raw tables, shaped like the store's, in schema `bench_raw`,
 * with the head rows of streams `a0`…`a399` at version 0: the raw append
 * locks its stream's row, and a row that does not exist yet locks nothing
 * (two workers' first appends to a stream both read 0 and collide).
 */
export async function createRawTables(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    drop schema if exists bench_raw cascade;
    create schema bench_raw;
    create table bench_raw.streams (stream_id text primary key, version bigint not null);
    create table bench_raw.events (
      position bigserial primary key, event_id text unique not null, stream_id text not null,
      version bigint not null, type text not null, data jsonb not null, metadata jsonb not null,
      created_at timestamptz not null default now(), unique (stream_id, version));
    create table bench_raw.commands (id text primary key, correlation_id text not null,
      command_type text not null, payload text, recorded_at timestamptz not null);
    create index on bench_raw.commands (correlation_id, recorded_at, id);
    insert into bench_raw.streams (stream_id, version)
      select 'a' || i, 0 from generate_series(0, 399) i;
  `);
}

/** The classic 4-round-trip append: begin, read the version, insert, commit. */
export async function rawAppend(pool: postgres.Sql, streamId: string): Promise<void> {
  await pool.begin(async (tx) => {
    const rows =
      await tx`select version from bench_raw.streams where stream_id = ${streamId} for update`;
    const version = Number(rows[0]?.version ?? 0) + 1;
    await tx`insert into bench_raw.events (event_id, stream_id, version, type, data, metadata)
             values (${uuidv7()}, ${streamId}, ${version}, 'MoneyDeposited',
                     ${tx.json({ accountId: streamId, amount: 1 })}, ${tx.json({})})`;
    await tx`insert into bench_raw.streams (stream_id, version) values (${streamId}, ${version})
             on conflict (stream_id) do update set version = excluded.version`;
  });
}

/** The bank bus on verdict's stores, audited atomically or not. */
export function bankBus(on: PostgresStores, withAudit: boolean): CommandBus<BankCommand> {
  return benchBank(on.events, withAudit ? on.commandLog : undefined);
}

/** A deposit of 1 into account `a${i}`. */
export const deposit = (i: number): BankCommand => ({
  type: "Deposit",
  data: { accountId: `a${i}`, amount: 1 },
});

/** Dispatches and throws unless the command was accepted. */
async function accept(bus: CommandBus<BankCommand>, command: BankCommand): Promise<void> {
  const result = await bus.dispatch(command);
  if (result.status !== "accepted") throw new Error(`command ${result.status}`);
}

let next = 0;

/** `count` raw appends, one after another, over streams `a${first}`… +99. */
export async function rawSequential(
  pool: postgres.Sql,
  first: number,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) await rawAppend(pool, `a${first + next++ % 100}`);
}

/** `count` deposits, one after another, over accounts `a${first}`… +99. */
export async function commandsSequential(
  bus: CommandBus<BankCommand>,
  first: number,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) await accept(bus, deposit(first + next++ % 100));
}

/** Concurrent writers of the 32-workers group, 10 appends or commands each. */
export const WORKERS = 32;
const workerStream = (w: number, i: number) => (w * 7 + i * 13) % 200;

/** 32 workers × 10 raw appends over streams `a${first}`… +199. */
export async function rawWorkers(pool: postgres.Sql, first = 0): Promise<void> {
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; i < 10; i++) {
        await rawAppend(pool, `a${first + workerStream(w, i)}`);
      }
    }),
  );
}

/**
 * 32 workers × 10 deposits over accounts `a${first}`… +199; conflicts are
 * retried by the bus.
 */
export async function commandWorkers(
  bus: CommandBus<BankCommand>,
  first = 0,
): Promise<void> {
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; i < 10; i++) await accept(bus, deposit(first + workerStream(w, i)));
    }),
  );
}
