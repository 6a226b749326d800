/**
 * `deno task bench:kv-rounds`: the `kv commands` bench of
 * `bench/kv_bench.ts` in alternating rounds — 300 raw checked commits, then
 * 300 commands through the bus, then again — so the machine's drift lands
 * on both sides alike. Prints each round's ratio and their median.
 */
import { KvEventStore } from "@verdict/verdict/kv";
import { bankDeposits, rawCommitter } from "../bench/kv_shared.ts";
import { median, roundsArgument, time } from "./rounds.ts";

const ROUNDS = roundsArgument("bench:kv-rounds", 11);
const PER_ROUND = 300;

const dir = await Deno.makeTempDir({ prefix: "verdict-kv-rounds-" });
const kv = await Deno.openKv(`${dir}/bench.kv`);
try {
  const commit = rawCommitter(kv);
  const raw = async () => {
    for (let i = 0; i < PER_ROUND; i++) await commit();
  };
  const store = new KvEventStore(kv, { prefix: ["bench"] });
  const deposit = await bankDeposits(store);
  const commands = async () => {
    for (let i = 0; i < PER_ROUND; i++) await deposit();
  };

  // A round to warm up.
  await raw();
  await commands();
  console.log(
    `Deno KV (a local file), ${ROUNDS} alternating rounds of ${PER_ROUND} (µs per commit / command)`,
  );
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rawUs = await time(raw) / PER_ROUND * 1000;
    const commandUs = await time(commands) / PER_ROUND * 1000;
    ratios.push(rawUs / commandUs);
    console.log(
      `  round ${round + 1}: raw commit ${rawUs.toFixed(0)}, command ${
        commandUs.toFixed(0)
      } (${(rawUs / commandUs).toFixed(2)}× the baseline)`,
    );
  }
  console.log(
    `  median: a command at ${median(ratios).toFixed(2)}× the raw commit (${
      Math.min(...ratios).toFixed(2)
    }–${Math.max(...ratios).toFixed(2)})`,
  );
  await store.close();
} finally {
  kv.close();
  await Deno.remove(dir, { recursive: true });
}
