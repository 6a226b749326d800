/**
 * `coherentCache` checked on a store: two app instances, each a bus with
 * its own cached decider handler, write the same account streams through
 * their own store handles (`open()` twice: two pools, two KV handles, or one
 * memory store shared). With the option, an instance learns of the other's
 * commits from the store's wake-ups and decides on current state; without
 * it, it meets a conflict per stream the other changed. Browser-safe: the
 * Chromium page runs the cases too.
 */
import {
  CommandBus,
  deciderHandler,
  type EventStore,
  StateCache,
} from "@verdict/verdict";
import { check, checkEqual, type ContractCase } from "@verdict/verdict/testing";
import {
  type Account,
  accountDefinition,
  type BankCommand,
} from "../../examples/bank.ts";

interface Instance {
  bus: CommandBus<BankCommand>;
  cache: StateCache<Account>;
  conflicts: () => number;
}

function instance(store: EventStore, coherentCache: boolean): Instance {
  const cache = new StateCache<Account>();
  let conflicts = 0;
  const handler = deciderHandler({
    ...accountDefinition,
    store,
    cache,
    coherentCache,
    onConflict: () => conflicts++,
    retry: { maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 4 },
  });
  const bus = new CommandBus<BankCommand>()
    .register("OpenAccount", handler)
    .register("Deposit", handler)
    .register("Withdraw", handler);
  return { bus, cache, conflicts: () => conflicts };
}

async function accepted(
  bus: CommandBus<BankCommand>,
  command: BankCommand,
): Promise<void> {
  const result = await bus.dispatch(command);
  checkEqual(result.status, "accepted", JSON.stringify(result));
}

/**
 * Waits until `done()` holds, letting timers and I/O run in between; fails
 * after `turns` turns of the event loop (a wake-up that never comes).
 */
async function until(done: () => boolean, what: string, turns = 2_000): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  check(false, `${what}: not after ${turns} turns of the event loop`);
}

const STREAMS = 5;
const deposit = (prefix: string, i: number, amount: number): BankCommand => ({
  type: "Deposit",
  data: { accountId: `${prefix}-${i}`, amount },
});

/**
 * The cases: `open()` gives an instance's store handle (the same store or a
 * new handle on the same data); `close` closes one.
 */
export function coherentCacheCases(
  open: () => EventStore | Promise<EventStore>,
  close: (store: EventStore) => Promise<void> = (store) => store.close(),
): ContractCase[] {
  return [false, true].map((coherent) => ({
    name: coherent
      ? "with coherentCache, an instance decides on what another committed, without conflicts"
      : "without it, an instance meets a conflict per stream another changed",
    async run() {
      // Accounts of their own: the memory store is shared by both cases.
      const prefix = coherent ? "coherent" : "plain";
      const [storeA, storeB] = [await open(), await open()];
      try {
        const a = instance(storeA, coherent);
        const b = instance(storeB, coherent);
        for (let i = 0; i < STREAMS; i++) {
          await accepted(a.bus, {
            type: "OpenAccount",
            data: { accountId: `${prefix}-${i}`, owner: "ada" },
          });
        }
        // B deposits into every account: A's cached states fall behind.
        for (let i = 0; i < STREAMS; i++) await accepted(b.bus, deposit(prefix, i, 10));
        if (coherent) {
          await until(
            () =>
              Array.from(
                { length: STREAMS },
                (_, i) => a.cache.get(`account-${prefix}-${i}`),
              )
                .every((cached) => cached?.version === 2 && cached.state.balance === 10),
            "A's cache brought up to date by B's deposits",
          );
        }
        for (let i = 0; i < STREAMS; i++) await accepted(a.bus, deposit(prefix, i, 1));
        checkEqual(a.conflicts(), coherent ? 0 : STREAMS, "A's conflicts");
        // Either way every decision was made on the real state.
        for (let i = 0; i < STREAMS; i++) {
          const events = await storeA.readStream(`account-${prefix}-${i}`);
          checkEqual(events.length, 3, "events in each account");
          checkEqual(a.cache.get(`account-${prefix}-${i}`)?.state.balance, 11, "balance");
        }
      } finally {
        await close(storeA);
        if (storeB !== storeA) await close(storeB);
      }
    },
  }));
}

/** The cases as steps of a Deno test. */
export async function checkCoherentCache(
  t: Deno.TestContext,
  open: () => EventStore | Promise<EventStore>,
  close?: (store: EventStore) => Promise<void>,
): Promise<void> {
  for (const testCase of coherentCacheCases(open, close)) {
    await t.step(testCase.name, () => testCase.run());
  }
}
