/**
 * What `bench/command_bus_bench.ts`, `bench/audit_bench.ts` and
 * `deno task bench:rounds memory` share: the bank bus on the memory store,
 * the raw decide + evolve baseline, and the audit variants — the bare bus,
 * the same bus behind an outermost middleware that does nothing, behind the
 * least any audit record costs, and behind `audit()`.
 */

import type { CommandBus, CommandResult, Middleware } from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import {
  type Account,
  type AccountCommand,
  accountDecider,
  type BankCommand,
} from "../../examples/bank.ts";
import { benchBank } from "./bank_bus.ts";

/** Commands per timed iteration or round. */
export const COMMANDS = 10_000;

/** A deposit of 1 into `accountId`. */
export const depositTo = (accountId: string): AccountCommand & BankCommand => ({
  type: "Deposit",
  data: { accountId, amount: 1 },
});

/** Deposits into account `a0`: the commands of the one-stream cases. */
export const oneAccount: readonly BankCommand[] = [depositTo("a0")];

/** Deposits into accounts `a0`…`a999`: the commands of the 1,000-stream case. */
export const thousandAccounts: readonly BankCommand[] = Array.from(
  { length: 1_000 },
  (_, i) => depositTo(`a${i}`),
);

/** Dispatches `commands` in turn, one at a time, until `COMMANDS` have run. */
export async function dispatchCommands(
  bus: CommandBus<BankCommand>,
  commands: readonly BankCommand[],
): Promise<void> {
  for (let round = 0; round < COMMANDS / commands.length; round++) {
    for (const command of commands) await bus.dispatch(command);
  }
}

/** The bare bank bus on a fresh memory store, with accounts `a0`… opened. */
export async function bankWithAccounts(
  count: number,
): Promise<CommandBus<BankCommand>> {
  const bus = benchBank(new MemoryEventStore());
  for (let i = 0; i < count; i++) {
    await bus.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
  }
  return bus;
}

/**
 * The raw baseline: `count` deposits decided and folded over a state held in
 * a variable, no bus, no store. Throws if a deposit was lost.
 */
export function rawDecideEvolve(count: number): void {
  let state: Account = accountDecider.evolve(accountDecider.initialState(), {
    type: "AccountOpened",
    data: { accountId: "a0", owner: "o" },
  });
  const command = depositTo("a0");
  for (let i = 0; i < count; i++) {
    for (const event of accountDecider.decide(command, state)) {
      state = accountDecider.evolve(state, event);
    }
  }
  if (state.balance !== count) throw new Error("lost a deposit");
}

/** What sits in front of the bank bus in the `audit overhead` cases. */
export type AuditVariant = "bare" | "empty" | "minimal" | "record" | "audit";

/** The order the cases run in, and their names as the benches print them. */
export const auditVariants: Readonly<Record<AuditVariant, string>> = {
  bare: "bare bus",
  empty: "bus + a middleware that only calls next()",
  minimal: "bus + a minimal recording middleware (await, JSON.stringify, push)",
  record: "bus + the least a record costs (JSON payload, record kept, no verdict code)",
  audit: "bus + audit (memory log)",
};

/**
 * The least any audit record costs, written without verdict's audit code:
 * await the outcome, encode the command as JSON, and keep an object holding
 * what a `CommandRecord` must hold (id, correlation, type, payload, status,
 * event and stream ids, duration, timestamp).
 */
function leastRecord(kept: unknown[]): Middleware<BankCommand> {
  return async (context, next) => {
    const result: CommandResult = await next();
    const accepted = result.status === "accepted";
    kept.push({
      id: context.commandId,
      correlationId: context.correlationId ?? context.commandId,
      type: context.command.type,
      payload: JSON.stringify(context.command),
      status: result.status,
      eventIds: accepted ? result.events.map((event) => event.id) : [],
      streamIds: accepted ? result.streams.map((stream) => stream.streamId) : [],
      durationMs: context.clock.now() - context.startedAt,
      timestamp: context.startedAt,
    });
    return result;
  };
}

/**
 * The bank bus on a fresh memory store (whose command log commits with its
 * appends) with account `a0` opened, and `variant` in front of it.
 */
export async function auditedBank(
  variant: AuditVariant,
): Promise<CommandBus<BankCommand>> {
  const log = new MemoryCommandLog();
  const store = new MemoryEventStore({ commandLog: log });
  const kept: unknown[] = [];
  const outermost: Record<AuditVariant, Middleware<BankCommand> | undefined> = {
    bare: undefined,
    empty: (_context, next) => next(),
    minimal: async (context, next) => {
      const result = await next();
      kept.push(JSON.stringify(context.command));
      return result;
    },
    record: leastRecord(kept),
    audit: undefined,
  };
  const bus = benchBank(store, variant === "audit" ? log : undefined, outermost[variant]);
  await bus.dispatch({ type: "OpenAccount", data: { accountId: "a0", owner: "o" } });
  return bus;
}
