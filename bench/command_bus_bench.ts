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

import {
  bankWithAccounts,
  COMMANDS,
  depositTo,
  rawDecideEvolve,
} from "./support/memory_shared.ts";

Deno.bench({
  name: "raw decide + evolve over cached state",
  group: "command throughput",
  baseline: true,
  fn(b) {
    b.start();
    rawDecideEvolve(COMMANDS);
    b.end();
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
