// The Dexie read models: the document-store contract (every case but the
// inline ones: no event store writes to Dexie), live queries that follow
// applies, and projections kept equal to what a SyncClient sees, pending
// commands included.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import { liveQuery } from "dexie";
import { SyncClient } from "@verdict/verdict/browser";
import { DexieDocumentStore, syncProjections } from "@verdict/verdict/dexie";
import {
  type AccountBalance,
  balancesProjection,
  bankDefinitions,
} from "../examples/bank.ts";
import { bankServer, memoryStores, network } from "./support/sync_server.ts";
import { dexieProjectionCases } from "./support/dexie_suite.ts";

let names = 0;

Deno.test("the Dexie document store keeps the document-store contract", async (t) => {
  for (const c of dexieProjectionCases("dexie-contract")) await t.step(c.name, c.run);
});

Deno.test("liveQuery re-runs when an apply changes the documents it read", async () => {
  const store = new DexieDocumentStore({ name: `dexie-live-${names++}` });
  const seen: number[] = [];
  let wake: () => void = () => {};
  const subscription = liveQuery(() => store.list("balances")).subscribe((documents) => {
    seen.push(documents.length);
    wake();
  });
  const next = () => new Promise<void>((resolve) => wake = resolve);
  await next();
  const changed = next();
  await store.apply(balancesProjection, [{
    id: "e-1",
    streamId: "account-A",
    version: 1,
    position: 1,
    type: "AccountOpened",
    data: { accountId: "A", owner: "Ann" },
    metadata: {},
    timestamp: new Date(),
  }]);
  await changed;
  assert.deepEqual(seen, [0, 1]);
  subscription.unsubscribe();
  await store.close();
});

Deno.test({
  name:
    "synced projections show pending commands on top of the server's events, and follow the verdicts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await bankServer(memoryStores(), { basePath: "/sync" });
    const net = network(() => server.handler);
    const sync = await SyncClient.open({
      name: `dexie-sync-${names++}`,
      url: "http://127.0.0.1/sync",
      fetch: net.fetch,
      headers: () => ({ authorization: "Bearer dee" }),
      leader: "always",
      listen: false,
      pollIntervalMs: 3_600_000,
      retryDelayMs: { min: 3_600_000, max: 3_600_000 },
    });
    sync.registerAll(bankDefinitions);
    const documents = new DexieDocumentStore({ name: `dexie-views-${names++}` });
    const views = syncProjections(sync, documents, [balancesProjection]);
    await views.ready;
    const balance = async (id: string) =>
      (await documents.get<AccountBalance>("balances", id))?.balance;

    await sync.dispatch({
      type: "OpenAccount",
      data: { accountId: "D-1", owner: "Dee" },
    });
    await sync.dispatch({ type: "Deposit", data: { accountId: "D-1", amount: 40 } });
    await sync.sync();
    await views.idle();
    assert.equal(await balance("D-1"), 40);
    assert.equal(
      (await documents.get<AccountBalance>("balances@confirmed", "D-1"))?.balance,
      40,
    );

    // Offline: a pending withdrawal shows in the view, not in the server's documents.
    net.up = false;
    const withdrawal = await sync.dispatch({
      type: "Withdraw",
      data: { accountId: "D-1", amount: 30 },
    });
    await views.idle();
    assert.equal(await balance("D-1"), 10);
    assert.equal(
      (await documents.get<AccountBalance>("balances@confirmed", "D-1"))?.balance,
      40,
    );

    // Meanwhile another client took 20: the server refuses the withdrawal,
    // and the view goes back to the server's truth.
    await server.stores.events.appendToStream("account-D-1", [{
      type: "MoneyWithdrawn",
      data: { accountId: "D-1", amount: 20 },
    }]);
    net.up = true;
    await sync.sync();
    await views.idle();
    assert.equal((await sync.outcome(withdrawal.commandId))?.state, "rejected");
    assert.equal(await balance("D-1"), 20);
    assert.deepEqual(
      await documents.list("balances"),
      await documents.list("balances@confirmed"),
    );

    views.stop();
    await documents.close();
    await sync.close();
    await server.close();
  },
});
