/**
 * The exactly-once contract: commands run through the bus, `deciderHandler`
 * and `audit()` on a store wrapped in the chaos kit, each retried under its
 * own id until it has a final outcome, and then checked against what the
 * store holds.
 *
 * @module
 */

import { audit } from "../audit.ts";
import { CommandBus } from "../command_bus.ts";
import type { CommandResult } from "../command_result.ts";
import type { Decider } from "../decider.ts";
import { deciderHandler } from "../decider_handler.ts";
import { timeout } from "../middleware/timeout.ts";
import { CommandRejectedError } from "../errors.ts";
import type { EventStore } from "../event_store.ts";
import { uuidv7 } from "../uuid.ts";
import { check, checkEqual } from "./assert.ts";
import { caseList } from "./_cases.ts";
import { chaosEventStore, type ChaosOptions } from "./chaos.ts";
import type { ContractCase } from "./contract.ts";

/**
 * Options of {@linkcode exactlyOnceContract}.
 *
 * @example A smaller run for a slow store
 * ```ts
 * import type { ExactlyOnceContractOptions } from "@verdict/verdict/testing";
 *
 * const options: ExactlyOnceContractOptions = { commands: 500, seed: 42 };
 * ```
 */
export interface ExactlyOnceContractOptions {
  /** Commands to run (default 2,000). */
  readonly commands?: number;
  /** Commands in flight at once (default 4). */
  readonly lanes?: number;
  /** The chaos seed (default 1). */
  readonly seed?: number;
  /** Where the case's figures go (default `console.log`). */
  readonly report?: (line: string) => void;
}

type Command =
  | { type: "Deposit"; data: { account: string; amount: number } }
  | { type: "Withdraw"; data: { account: string; amount: number } };
type Event =
  | { type: "Deposited"; data: { amount: number } }
  | { type: "Withdrew"; data: { amount: number } };

const account: Decider<Command, number, Event> = {
  initialState: () => 0,
  decide(command, balance) {
    if (command.type === "Withdraw" && command.data.amount > balance) {
      throw new CommandRejectedError("insufficient funds", {
        code: "insufficient_funds",
        details: { balance, requested: command.data.amount },
      });
    }
    return [{
      type: command.type === "Deposit" ? "Deposited" : "Withdrew",
      data: { amount: command.data.amount },
    }];
  },
  evolve: (balance, event) =>
    event.type === "Deposited"
      ? balance + event.data.amount
      : balance - event.data.amount,
};

/**
 * The exactly-once case, on stores from `factory` (each must have a
 * `commandLog`: exactly once rests on the record committing with the
 * events). The store fails 5% of appends before writing, 5% after
 * committing, and hangs 1% until the command's deadline (`timeout()`).
 *
 * @example Under `deno test`
 * ```ts ignore
 * import { exactlyOnceContract } from "@verdict/verdict/testing";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 *
 * Deno.test("exactly once", async (t) => {
 *   const factory = () => new MemoryEventStore({ commandLog: new MemoryCommandLog() });
 *   for (const c of exactlyOnceContract(factory)) await t.step(c.name, c.run);
 * });
 * ```
 */
export function exactlyOnceContract(
  factory: () => EventStore | Promise<EventStore>,
  options: ExactlyOnceContractOptions = {},
): ContractCase[] {
  const total = options.commands ?? 2_000;
  const lanes = options.lanes ?? 4;
  const report = options.report ?? console.log;
  const chaos: ChaosOptions = {
    seed: options.seed ?? 1,
    failBeforeWrite: 0.05,
    failAfterCommit: 0.05,
    hang: 0.01,
  };
  const { cases, test } = caseList(factory);

  test(`exactly once under faults: ${total} commands through bus, deciderHandler and audit on a store failing 5% of appends before writing, 5% after committing, hanging 1%: no duplicate, no lost command, every outcome true to the store, one audit record per command`, async (inner) => {
    const log = inner.commandLog;
    check(log !== undefined, "the store needs a command log (atomic audit)");
    const store = chaosEventStore(inner, chaos);
    const bus = new CommandBus<Command>({ onError: () => {} })
      .use(audit(log))
      // Each attempt's deadline: a hung append is abandoned there.
      .use(timeout(250));
    const handler = deciderHandler({
      decider: account,
      store,
      streamId: (command: Command) => `account-${command.data.account}`,
      retry: { maxAttempts: 8, baseDelayMs: 1, maxDelayMs: 4 },
    });
    bus.register("Deposit", handler).register("Withdraw", handler);

    // The workload, from the seed: deposits and withdrawals on 10 accounts.
    let seed = (options.seed ?? 1) * 7919;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const commands = Array.from({ length: total }, (_, i) => {
      const amount = 1 + Math.floor(random() * 20);
      const accountId = String(Math.floor(random() * 10));
      return {
        id: uuidv7(),
        command: (i % 3 === 2
          ? { type: "Withdraw", data: { account: accountId, amount } }
          : { type: "Deposit", data: { account: accountId, amount } }) as Command,
      };
    });

    const outcomes = new Map<string, CommandResult>();
    let retries = 0;
    let next = 0;
    await Promise.all(Array.from({ length: lanes }, async () => {
      while (next < commands.length) {
        const { id, command } = commands[next++];
        let result = await bus.dispatch(command, { commandId: id });
        // A failed outcome is not final: the same command, under its id, again.
        for (let attempt = 1; result.status === "failed" && attempt < 30; attempt++) {
          retries++;
          result = await bus.dispatch(command, { commandId: id });
        }
        outcomes.set(id, result);
      }
    }));

    const events = await inner.readAll();
    const byId = new Map(events.map((event) => [event.id, event]));
    const byCommand = new Map<string, number>();
    for (const event of events) {
      const cause = String(event.metadata.causationId);
      byCommand.set(cause, (byCommand.get(cause) ?? 0) + 1);
    }
    let duplicates = 0;
    let lost = 0;
    let unsettled = 0;
    let untrue = 0;
    let accepted = 0;
    const balances = new Map<string, number>();
    for (const { id, command } of commands) {
      const result = outcomes.get(id)!;
      const stored = byCommand.get(id) ?? 0;
      const record = await log.get(id);
      if (result.status === "failed") {
        unsettled++;
        continue;
      }
      if (record?.status !== result.status) untrue++;
      if (result.status === "accepted") {
        accepted++;
        if (stored === 0) lost++;
        if (stored > 1) duplicates += stored - 1;
        const ids = result.events.map((event) => event.id);
        if (
          ids.length !== 1 || !byId.has(ids[0]) ||
          JSON.stringify(record?.eventIds) !== JSON.stringify(ids)
        ) untrue++;
        const key = command.data.account;
        const delta = command.type === "Deposit"
          ? command.data.amount
          : -command.data.amount;
        balances.set(key, (balances.get(key) ?? 0) + delta);
      } else if (stored > 0) {
        untrue++; // a rejected command left events
      }
    }
    const stats = store.stats;
    report(
      `exactly once: ${total} commands, ${accepted} accepted, ${
        total - accepted - unsettled
      } rejected, ${retries} dispatches retried; faults: ${stats.failedBefore} before write, ${stats.failedAfter} after commit, ${stats.hung} hung; duplicates ${duplicates}, lost ${lost}, unsettled ${unsettled}, untrue outcomes ${untrue}`,
    );
    checkEqual(
      { duplicates, lost, unsettled, untrue },
      { duplicates: 0, lost: 0, unsettled: 0, untrue: 0 },
      "exactly once",
    );
    checkEqual(events.length, accepted, "one event per accepted command, no other");
    check(stats.failedBefore + stats.failedAfter > 0, "faults were injected");
    for (const [key, balance] of balances) {
      const replayed = (await inner.readStream<Event>(`account-${key}`)).reduce(
        account.evolve,
        account.initialState(),
      );
      checkEqual(replayed, balance, `account ${key}: the replay equals the outcomes`);
      check(balance >= 0, `account ${key} never overdrawn`);
    }
  });

  return cases;
}
