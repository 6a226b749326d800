/**
 * What the audit trail costs.
 *
 * - `audit overhead`: the bank bus (correlation, decider handler, memory
 *   store) bare, beside the same bus with `audit()` writing to a memory log
 *   that commits atomically with the events, and beside a minimal recording
 *   middleware (await the command's outcome, `JSON.stringify` the command,
 *   push the string to an array): what any record costs at the least.
 *   10,000 commands per iteration.
 * - `audit payload`: the audited bus with command payloads of 100 B to
 *   100 KB. 1,000 commands per iteration.
 * - `audit codec`: encoding and decoding one command payload as JSON and as
 *   CBOR.
 *
 *   deno bench -A bench/audit_bench.ts
 */

import {
  audit,
  CommandBus,
  deciderHandler,
  jsonCodec,
  type Middleware,
} from "@verdict/verdict";
import { cborCodec } from "@verdict/verdict/cbor";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import type { BankCommand } from "../examples/bank.ts";
import { benchBank } from "./bank_bus.ts";

const COMMANDS = 10_000;

type Variant = "bare" | "audit" | "minimal";

async function bank(variant: Variant): Promise<CommandBus<BankCommand>> {
  const log = new MemoryCommandLog();
  const store = new MemoryEventStore({ commandLog: log });
  const kept: string[] = [];
  const minimal: Middleware<BankCommand> = async (context, next) => {
    const result = await next();
    kept.push(JSON.stringify(context.command));
    return result;
  };
  const bus = benchBank(
    store,
    variant === "audit" ? log : undefined,
    variant === "minimal" ? minimal : undefined,
  );
  await bus.dispatch({ type: "OpenAccount", data: { accountId: "a0", owner: "o" } });
  return bus;
}

const names: Record<Variant, string> = {
  bare: "bare bus",
  audit: "bus + audit (memory log)",
  minimal: "bus + a minimal recording middleware (await, JSON.stringify, push)",
};
for (const variant of ["bare", "audit", "minimal"] as const) {
  Deno.bench({
    name: names[variant],
    group: "audit overhead",
    baseline: variant === "bare",
    async fn(b) {
      const bus = await bank(variant);
      const command: BankCommand = {
        type: "Deposit",
        data: { accountId: "a0", amount: 1 },
      };
      b.start();
      for (let i = 0; i < COMMANDS; i++) await bus.dispatch(command);
      b.end();
    },
  });
}

type Note = { type: "Note"; data: { text: string } };
for (
  const [label, size] of [["100 B", 100], ["1 KB", 1_000], ["10 KB", 10_000], [
    "100 KB",
    100_000,
  ]] as const
) {
  Deno.bench({
    name: `payload ${label}`,
    group: "audit payload",
    baseline: size === 100,
    async fn(b) {
      const log = new MemoryCommandLog();
      const store = new MemoryEventStore({ commandLog: log });
      const bus = new CommandBus<Note>().use(audit(log));
      bus.register(
        "Note",
        deciderHandler({
          decider: {
            initialState: () => 0,
            decide: () => [{ type: "Noted", data: null }],
            evolve: (n: number) => n + 1,
          },
          store,
          streamId: () => "notes",
        }),
      );
      // The whole command encodes to `size` bytes of JSON.
      const command: Note = {
        type: "Note",
        data: { text: "x".repeat(size - '{"type":"Note","data":{"text":""}}'.length) },
      };
      b.start();
      for (let i = 0; i < 1_000; i++) await bus.dispatch(command);
      b.end();
    },
  });
}

const record = {
  type: "Transfer",
  data: {
    transferId: "0190f0c8-3a4b-7c2d-9e1f-2a3b4c5d6e7f",
    from: "account-1",
    to: "account-2",
    amount: 1250.5,
    reference: "Invoice 2026-11-042 — consulting, November",
    tags: ["consulting", "monthly", "eur"],
  },
};
Deno.bench({
  name: "JSON encode + decode",
  group: "audit codec",
  baseline: true,
  fn() {
    jsonCodec.decode(jsonCodec.encode(record));
  },
});
Deno.bench({
  name: "CBOR encode + decode",
  group: "audit codec",
  fn() {
    cborCodec.decode(cborCodec.encode(record));
  },
});
