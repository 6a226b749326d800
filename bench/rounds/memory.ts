/**
 * `deno task bench:rounds memory`: the in-memory benches —
 * `command throughput` of `bench/command_bus_bench.ts` and `audit overhead`
 * of `bench/audit_bench.ts` — in alternating rounds of 10,000 commands, each
 * on a fresh store set up before its timing starts. A round runs every case
 * once, in reverse order every other round, so the machine's drift lands on
 * every case alike. Prints each round and the medians: µs per command, and
 * each audit case as the median of its rounds' ratios to the bare bus.
 */
import type { BankCommand } from "../../examples/bank.ts";
import {
  auditedBank,
  type AuditVariant,
  auditVariants,
  bankWithAccounts,
  COMMANDS,
  dispatchCommands,
  oneAccount,
  rawDecideEvolve,
  thousandAccounts,
} from "../support/memory_shared.ts";
import type { CommandBus } from "@verdict/verdict";
import { median, roundsArgument, time } from "./shared.ts";

const ROUNDS = roundsArgument("bench:rounds memory", 21);

type Run = () => Promise<void>;
const dispatchAll = (
  bus: CommandBus<BankCommand>,
  commands: readonly BankCommand[],
): Run =>
() => dispatchCommands(bus, commands);

/** The throughput cases: each makes its fresh bus and returns the timed run. */
const throughput: Record<string, () => Promise<Run>> = {
  "raw decide + evolve": () =>
    Promise.resolve(() => Promise.resolve(rawDecideEvolve(COMMANDS))),
  "1 stream": async () => dispatchAll(await bankWithAccounts(1), oneAccount),
  "1 stream holding 10,000 events": async () => {
    const bus = await bankWithAccounts(1);
    await dispatchAll(bus, oneAccount)();
    return dispatchAll(bus, oneAccount);
  },
  "1,000 streams × 10": async () =>
    dispatchAll(await bankWithAccounts(1_000), thousandAccounts),
};
const audits = Object.keys(auditVariants) as AuditVariant[];
const auditCase = async (variant: AuditVariant): Promise<Run> =>
  dispatchAll(await auditedBank(variant), oneAccount);

/** µs per command of one timed run of each case, in alternating order. */
async function round<K extends string>(
  cases: readonly K[],
  setup: (name: K) => Promise<Run>,
  reversed: boolean,
): Promise<Record<K, number>> {
  const us = {} as Record<K, number>;
  for (const name of reversed ? [...cases].reverse() : cases) {
    const run = await setup(name);
    us[name] = await time(run) * 1000 / COMMANDS;
  }
  return us;
}

const throughputNames = Object.keys(throughput);
const rows: Record<string, number>[] = [];
const auditRows: Record<AuditVariant, number>[] = [];
// A round to warm up.
await round(throughputNames, (name) => throughput[name](), false);
await round(audits, auditCase, false);

console.log(
  `Memory store, ${ROUNDS} alternating rounds of ${
    COMMANDS.toLocaleString("en")
  } commands (µs per command)`,
);
for (let r = 0; r < ROUNDS; r++) {
  const reversed = r % 2 === 1;
  const row = await round(throughputNames, (name) => throughput[name](), reversed);
  const audit = await round(audits, auditCase, reversed);
  rows.push(row);
  auditRows.push(audit);
  console.log(
    `  round ${r + 1}: ${
      throughputNames.map((name) => `${name} ${row[name].toFixed(2)}`).join(", ")
    }`,
  );
  console.log(
    `    audit overhead: bare ${audit.bare.toFixed(2)}, ${
      audits.slice(1).map((v) => `${v} ${(audit[v] / audit.bare).toFixed(2)}×`).join(", ")
    }`,
  );
}

const range = (values: number[]) =>
  `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
console.log("  median (range) of the rounds, µs per command:");
for (const name of throughputNames) {
  const values = rows.map((row) => row[name]);
  const rate = Math.round(1e6 / median(values)).toLocaleString("en");
  console.log(
    `    ${name}: ${median(values).toFixed(3)} (${range(values)}), ${rate} commands/s`,
  );
}
const long = rows.map((row) => row["1 stream holding 10,000 events"] / row["1 stream"]);
console.log(
  `    1 stream holding 10,000 events / 1 stream: ${median(long).toFixed(2)}× (${
    range(long)
  })`,
);
const bare = auditRows.map((row) => row.bare);
console.log(
  `  audit overhead: ${auditVariants.bare} ${median(bare).toFixed(2)} µs (${
    range(bare)
  })`,
);
for (const variant of audits.slice(1)) {
  const ratios = auditRows.map((row) => row[variant] / row.bare);
  console.log(
    `    ${auditVariants[variant]}: ${median(ratios).toFixed(2)}× the bare bus (${
      range(ratios)
    })`,
  );
}
