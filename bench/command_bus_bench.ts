/**
 * Command throughput of the full bus — correlation middleware, decider
 * handler with its state cache, memory store — beside the raw baseline: a
 * decide + evolve loop over a state held in a variable.
 *
 * One iteration runs 10,000 commands against a fresh store (set up before
 * timing starts), so commands/s = 10,000 / time per iteration.
 *
 *   deno bench -A bench/command_bus_bench.ts
 */

import type { CommandBus } from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { type Account, accountDecider, type BankCommand } from "../examples/bank.ts";
import { benchBank } from "./bank_bus.ts";

const COMMANDS = 10_000;

const depositTo = (accountId: string): BankCommand => ({
  type: "Deposit",
  data: { accountId, amount: 1 },
});

async function bankWithAccounts(count: number): Promise<CommandBus<BankCommand>> {
  const bus = benchBank(new MemoryEventStore());
  for (let i = 0; i < count; i++) {
    await bus.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
  }
  return bus;
}

Deno.bench({
  name: "raw decide + evolve over cached state",
  group: "command throughput",
  baseline: true,
  fn(b) {
    let state: Account = accountDecider.evolve(accountDecider.initialState(), {
      type: "AccountOpened",
      data: { accountId: "a0", owner: "o" },
    });
    const command = depositTo("a0");
    b.start();
    for (let i = 0; i < COMMANDS; i++) {
      for (const event of accountDecider.decide(command, state)) {
        state = accountDecider.evolve(state, event);
      }
    }
    b.end();
    if (state.balance !== COMMANDS) throw new Error("lost a deposit");
  },
});

Deno.bench({
  name: "bus + memory store, 1 stream",
  group: "command throughput",
  async fn(b) {
    const bus = await bankWithAccounts(1);
    const command = depositTo("a0");
    b.start();
    for (let i = 0; i < COMMANDS; i++) await bus.dispatch(command);
    b.end();
  },
});

Deno.bench({
  name: "bus + memory store, 1 stream already holding 10,000 events",
  group: "command throughput",
  async fn(b) {
    const bus = await bankWithAccounts(1);
    const command = depositTo("a0");
    for (let i = 0; i < 10_000; i++) await bus.dispatch(command);
    b.start();
    for (let i = 0; i < COMMANDS; i++) await bus.dispatch(command);
    b.end();
  },
});

Deno.bench({
  name: "bus + memory store, 1,000 streams × 10",
  group: "command throughput",
  async fn(b) {
    const bus = await bankWithAccounts(1_000);
    const commands = Array.from({ length: 1_000 }, (_, i) => depositTo(`a${i}`));
    b.start();
    for (let round = 0; round < 10; round++) {
      for (const command of commands) await bus.dispatch(command);
    }
    b.end();
  },
});
