/**
 * `deno task bench:kv-rounds`: the `kv commands` bench of
 * `bench/kv_bench.ts` in alternating rounds — 300 raw checked commits, then
 * 300 commands through the bus, then again — so the machine's drift lands
 * on both sides alike. Prints each round's ratio and their median.
 */
import { CommandBus, correlation, deciderHandler } from "@verdict/verdict";
import { KvEventStore } from "@verdict/verdict/kv";
import { accountDecider, type BankCommand } from "../examples/bank.ts";

const ROUNDS = Number(Deno.args[0] ?? 11);
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) {
  console.error(`usage: deno task bench:kv-rounds [rounds >= 1], got "${Deno.args[0]}"`);
  Deno.exit(2);
}
const PER_ROUND = 300;
const STREAMS = 100;

async function time(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const dir = await Deno.makeTempDir({ prefix: "verdict-kv-rounds-" });
const kv = await Deno.openKv(`${dir}/bench.kv`);
try {
  // The raw floor of any checked write: the versionstamp is known from the
  // previous commit, so each step is exactly one checked atomic commit.
  let versionstamp: string | null = null;
  let counter = 0;
  const raw = async () => {
    for (let i = 0; i < PER_ROUND; i++) {
      const key = ["raw", "counter"];
      const result = await kv.atomic().check({ key, versionstamp }).set(key, ++counter)
        .commit();
      if (!result.ok) throw new Error("the raw baseline conflicted");
      versionstamp = result.versionstamp;
    }
  };

  const store = new KvEventStore(kv, { prefix: ["bench"] });
  const bus = new CommandBus<BankCommand>().use(correlation());
  const handler = deciderHandler({
    decider: accountDecider,
    store,
    streamId: (command: BankCommand) =>
      command.type === "Transfer"
        ? [`account-${command.data.from}`, `account-${command.data.to}`]
        : `account-${command.data.accountId}`,
  });
  bus.register("OpenAccount", handler).register("Deposit", handler);
  for (let i = 0; i < STREAMS; i++) {
    await bus.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
  }
  const deposits = Array.from({ length: STREAMS }, (_, i): BankCommand => ({
    type: "Deposit",
    data: { accountId: `a${i}`, amount: 1 },
  }));
  const commands = async () => {
    for (let i = 0; i < PER_ROUND; i++) {
      const result = await bus.dispatch(deposits[i % STREAMS]);
      if (result.status !== "accepted") throw new Error(`command ${result.status}`);
    }
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
