/**
 * What the Deno KV bench and the alternating-rounds runner share: the raw
 * baseline (one checked commit) and the bank bus on a KV event store with
 * 100 open accounts.
 */

import type { KvEventStore } from "@verdict/verdict/kv";
import type { BankCommand } from "../examples/bank.ts";
import { benchBank } from "./bank_bus.ts";

/**
 * The raw floor of any checked write: each call is one atomic commit of one
 * key, checked against the versionstamp its previous commit returned.
 */
export function rawCommitter(kv: Deno.Kv): () => Promise<void> {
  let versionstamp: string | null = null;
  let counter = 0;
  return async () => {
    const key = ["raw", "counter"];
    const result = await kv.atomic().check({ key, versionstamp }).set(key, ++counter)
      .commit();
    if (!result.ok) throw new Error("the raw baseline conflicted");
    versionstamp = result.versionstamp;
  };
}

/**
 * The bank bus on `store` with accounts `a0`…`a99` open; each call of the
 * returned function deposits into the next account, round robin.
 */
export async function bankDeposits(store: KvEventStore): Promise<() => Promise<void>> {
  const bus = benchBank(store);
  for (let i = 0; i < 100; i++) {
    await bus.dispatch({ type: "OpenAccount", data: { accountId: `a${i}`, owner: "o" } });
  }
  const deposits = Array.from({ length: 100 }, (_, i): BankCommand => ({
    type: "Deposit",
    data: { accountId: `a${i}`, amount: 1 },
  }));
  let next = 0;
  return async () => {
    const result = await bus.dispatch(deposits[next++ % 100]);
    if (result.status !== "accepted") throw new Error(`command ${result.status}`);
  };
}
