/**
 * `deno task bench:rounds kv`: the `kv commands` bench of
 * `bench/kv_bench.ts` in alternating rounds — 300 raw checked commits, 300
 * commits of the writes an append needs at the least (head check, head,
 * event, global-log entry: the floor of a store built as verdict's KV store
 * is), then 300 commands through the bus, then again — so the machine's
 * drift lands on every side alike. Prints each round's ratios and their
 * medians.
 */
import { KvEventStore } from "@verdict/verdict/kv";
import {
  bankDeposits,
  rawCommitter,
  requiredWritesCommitter,
} from "../support/kv_shared.ts";
import { median, roundsArgument, time } from "./shared.ts";

const ROUNDS = roundsArgument("bench:rounds kv", 11);
const PER_ROUND = 300;

const dir = await Deno.makeTempDir({ prefix: "verdict-kv-rounds-" });
const kv = await Deno.openKv(`${dir}/bench.kv`);
try {
  const commit = rawCommitter(kv);
  const raw = async () => {
    for (let i = 0; i < PER_ROUND; i++) await commit();
  };
  const commitRequired = requiredWritesCommitter(kv);
  const required = async () => {
    for (let i = 0; i < PER_ROUND; i++) await commitRequired();
  };
  const store = new KvEventStore(kv, { prefix: ["bench"] });
  const deposit = await bankDeposits(store);
  const commands = async () => {
    for (let i = 0; i < PER_ROUND; i++) await deposit();
  };

  // A round to warm up.
  await raw();
  await required();
  await commands();
  console.log(
    `Deno KV (a local file), ${ROUNDS} alternating rounds of ${PER_ROUND} (µs per commit / command)`,
  );
  const floorRatios: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rawUs = await time(raw) / PER_ROUND * 1000;
    const requiredUs = await time(required) / PER_ROUND * 1000;
    const commandUs = await time(commands) / PER_ROUND * 1000;
    floorRatios.push(rawUs / requiredUs);
    ratios.push(rawUs / commandUs);
    console.log(
      `  round ${round + 1}: raw commit ${rawUs.toFixed(0)}, required writes ${
        requiredUs.toFixed(0)
      } (${(rawUs / requiredUs).toFixed(2)}×), command ${commandUs.toFixed(0)} (${
        (rawUs / commandUs).toFixed(2)
      }× the baseline)`,
    );
  }
  const summary = (values: number[]) =>
    `${median(values).toFixed(2)}× the raw commit (${Math.min(...values).toFixed(2)}–${
      Math.max(...values).toFixed(2)
    })`;
  console.log(`  median: the required writes alone at ${summary(floorRatios)}`);
  console.log(`  median: a command at ${summary(ratios)}`);
  await store.close();
} finally {
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
