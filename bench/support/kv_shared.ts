/**
 * What the Deno KV bench and the alternating-rounds runner share: the raw
 * baseline (one checked commit), the writes an append needs at the least,
 * and the bank bus on a KV event store with 100 open accounts.
 */

import { uuidv7 } from "@verdict/verdict";
import type { KvEventStore } from "@verdict/verdict/kv";
import type { BankCommand } from "../../examples/bank.ts";
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
 * The writes a race-free Deno KV append with a global log needs at the
 * least, with no verdict code around them: each call is one atomic commit
 * that checks a stream head's versionstamp and sets the new head, one event
 * and a global-log entry keyed by the commit's versionstamp, over 100 streams
 * round robin. (verdict's commit also writes an event-id key, for idempotent
 * appends, and a key watchers wait on.)
 */
export function requiredWritesCommitter(kv: Deno.Kv): () => Promise<void> {
  const heads = new Map<string, { version: number; versionstamp: string }>();
  let next = 0;
  return async () => {
    const streamId = `account-f${next++ % 100}`;
    const head = heads.get(streamId);
    const version = (head?.version ?? 0) + 1;
    const commandId = uuidv7();
    const event = {
      id: uuidv7(),
      type: "MoneyDeposited",
      data: { accountId: streamId, amount: 1 },
      metadata: { correlationId: commandId, causationId: commandId },
      timestamp: Date.now(),
      i: 0,
    };
    const headKey = ["floor", "h", streamId];
    const result = await kv.atomic()
      .check({ key: headKey, versionstamp: head?.versionstamp ?? null })
      .set(headKey, { version })
      .set(["floor", "s", streamId, version], event)
      .set(["floor", "g", kv.commitVersionstamp()], {
        streams: [[streamId, version, 1]],
        events: [event],
      })
      .commit();
    if (!result.ok) throw new Error("the required writes conflicted");
    heads.set(streamId, { version, versionstamp: result.versionstamp });
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
