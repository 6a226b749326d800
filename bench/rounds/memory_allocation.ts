/**
 * `deno task bench:rounds memory-allocation`: how many bytes of heap one command
 * allocates on the in-memory bus. Unlike time on a VM whose speed drifts,
 * this figure repeats run after run, so it shows whether a change to the
 * hot path allocates less.
 *
 * The task starts Deno with a young generation of 256 MB, an old generation
 * that starts at 1 GB (so no major collection is due while it runs) and
 * `gc()` exposed. Each measurement starts right after a minor collection, so
 * nothing is collected while its 10,000 commands run (they allocate a few
 * tens of MB): the heap's growth over them is what they allocated, garbage
 * included. A measurement that met a collection anyway (the heap grew by less
 * than the events kept) is thrown away and taken again.
 */
import type { CommandBus } from "@verdict/verdict";
import type { BankCommand } from "../../examples/bank.ts";
import {
  auditedBank,
  type AuditVariant,
  auditVariants,
  bankWithAccounts,
  COMMANDS,
  dispatchCommands,
  oneAccount,
  thousandAccounts,
} from "../support/memory_shared.ts";

/** Measurements per case; the median is printed. */
const REPEATS = 5;
/** A command keeps at least its event (about 340 bytes): less means a collection ran. */
const LEAST_KEPT = 300;

type Setup = () => Promise<[CommandBus<BankCommand>, readonly BankCommand[]]>;
const cases: Record<string, Setup> = {
  "bus + memory store, 1 stream": async () => [await bankWithAccounts(1), oneAccount],
  "same, 1,000 streams × 10":
    async () => [await bankWithAccounts(1_000), thousandAccounts],
};
// The `audit overhead` cases, on one stream.
for (const [variant, name] of Object.entries(auditVariants)) {
  cases[name] = async () => [await auditedBank(variant as AuditVariant), oneAccount];
}

const gc = (globalThis as { gc?: (options?: { type: "minor" }) => void }).gc;
if (!gc) {
  throw new Error(
    "run this with `deno task bench:rounds memory-allocation`, which sets the V8 flags it needs " +
      "(--expose-gc and the generations' sizes)",
  );
}

/** Bytes allocated per command, or undefined when a collection got in the way. */
async function measure(setup: Setup) {
  const [bus, commands] = await setup();
  // Warm up on the same bus, so compiled code, not the interpreter, is measured.
  await dispatchCommands(bus, commands);
  // Empty the young generation (a minor collection: no old-space sweeping
  // runs on, and changes the heap's size, during the measurement).
  gc!({ type: "minor" });
  const before = Deno.memoryUsage().heapUsed;
  await dispatchCommands(bus, commands);
  const perCommand = (Deno.memoryUsage().heapUsed - before) / COMMANDS;
  return perCommand >= LEAST_KEPT ? perCommand : undefined;
}

console.log(
  `bytes allocated per command (median of ${REPEATS}, ${COMMANDS} commands each):`,
);
for (const [name, setup] of Object.entries(cases)) {
  const figures: number[] = [];
  for (let attempt = 0; figures.length < REPEATS; attempt++) {
    if (attempt >= REPEATS * 4) {
      throw new Error(
        `${name}: collections kept interrupting the measurement`,
      );
    }
    const figure = await measure(setup);
    if (figure !== undefined) figures.push(figure);
  }
  figures.sort((a, b) => a - b);
  const range = `${figures[0].toFixed(0)}–${figures.at(-1)!.toFixed(0)}`;
  console.log(`  ${name}: ${figures[REPEATS >> 1].toFixed(0)} (${range})`);
}
