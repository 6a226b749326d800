/**
 * What the audit trail costs.
 *
 * - `audit overhead`: the bank bus (correlation, decider handler, memory
 *   store) bare, beside the same bus behind an outermost middleware that
 *   only calls `next()` (what a middleware layer costs), behind a minimal
 *   recording middleware (await the outcome, `JSON.stringify` the command,
 *   push the string), behind the least a record costs (the JSON payload and
 *   an object with a record's fields, kept; no verdict code), and behind
 *   `audit()` writing to a memory log that commits atomically with the
 *   events. 10,000 commands per iteration. `deno task bench:rounds memory`
 *   runs the same cases in alternating rounds.
 * - `audit payload`: the audited bus with command payloads of 100 B to
 *   100 KB. 1,000 commands per iteration.
 * - `audit codec`: encoding and decoding one command payload as JSON and as
 *   CBOR.
 *
 *   deno bench -A bench/audit_bench.ts
 */

import { audit, CommandBus, deciderHandler, jsonCodec } from "@verdict/verdict";
import { cborCodec } from "@verdict/verdict/cbor";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import type { BankCommand } from "../examples/bank.ts";
import {
  auditedBank,
  auditVariants,
  COMMANDS,
  depositTo,
} from "./support/memory_shared.ts";

for (const [variant, name] of Object.entries(auditVariants)) {
  Deno.bench({
    name,
    group: "audit overhead",
    baseline: variant === "bare",
    async fn(b) {
      const bus = await auditedBank(variant as keyof typeof auditVariants);
      const command: BankCommand = depositTo("a0");
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
