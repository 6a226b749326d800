// The offline-sync cases, run on each store by tests/sync_test.ts (memory,
// PostgreSQL) and tests/sync_kv_test.ts: SyncClient on fake-indexeddb,
// syncHandler over the bank, the network between them cut, lossy or back.
import "fake-indexeddb/auto";
import assert from "node:assert/strict";
import {
  CommandAlreadyDispatchedError,
  SyncClient,
  type SyncClientOptions,
} from "@verdict/verdict/browser";
import {
  accountDecider,
  type BankCommand,
  bankDefinitions,
  createBank,
} from "../../examples/bank.ts";
import { syncHandler } from "@verdict/verdict/sync";
import { comparable } from "./sync_events.ts";
import {
  bankServer,
  bearer,
  network,
  serverEvents,
  type StoreFactory,
  type TestNetwork,
} from "./sync_server.ts";

let names = 0;
const HOUR = 3_600_000;

async function client(
  net: TestNetwork,
  options: Partial<SyncClientOptions> & { user?: string } = {},
): Promise<SyncClient> {
  const user = options.user ?? "alice";
  const sync = await SyncClient.open({
    name: `sync-test-${names++}`,
    url: "http://127.0.0.1/sync",
    fetch: net.fetch,
    headers: () => ({ authorization: `Bearer ${user}` }),
    leader: "always",
    listen: false,
    // Rounds run when a test asks (sync()), never on a timer.
    pollIntervalMs: HOUR,
    retryDelayMs: { min: HOUR, max: HOUR },
    ...options,
  });
  sync.registerAll(bankDefinitions);
  return sync;
}

async function balance(sync: SyncClient, accountId: string): Promise<number> {
  const account = await sync.state(`account-${accountId}`, accountDecider);
  return account.balance;
}

export function cases(open: StoreFactory) {
  return async (t: Deno.TestContext) => {
    await t.step(
      "server down: 50 commands from two tabs, one reopened midway; server up: one verdict each, local state = server's",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const name = `sync-tabs-${names++}`;
        const first = await client(net, { name });
        let second = await client(net, { name });
        assert.equal(first.clientId, second.clientId, "one outbox, one client id");
        await first.sync();
        net.up = false;
        const verdicts = new Map<string, number>();
        first.onOutcome((command) =>
          verdicts.set(command.commandId, (verdicts.get(command.commandId) ?? 0) + 1)
        );
        const ids: string[] = [];
        for (let i = 0; i < 50; i++) {
          const tab = i % 2 === 0 ? first : second;
          const command: BankCommand = i < 5
            ? { type: "OpenAccount", data: { accountId: `A-${i}`, owner: `owner ${i}` } }
            : i % 7 === 0
            ? { type: "Withdraw", data: { accountId: `A-${i % 5}`, amount: 1_000 } }
            : { type: "Deposit", data: { accountId: `A-${i % 5}`, amount: i } };
          const result = await tab.dispatch(command);
          if (result.status === "pending") ids.push(result.commandId);
          if (i === 25) {
            // The second tab is reloaded: closed, opened again.
            await second.close();
            second = await client(net, { name });
          }
        }
        // Withdrawals of 1,000 are refused in the page and never queued.
        assert.equal(ids.length, 50 - 7);
        assert.equal((await first.pending()).length, ids.length);
        net.up = true;
        // Both tabs push the same outbox at once: the server decides each command once.
        await Promise.all([first.sync(), second.sync()]);
        await first.sync();
        assert.deepEqual(await first.pending(), []);
        for (const id of ids) {
          const state = await first.outcome(id);
          assert.equal(state?.state, "accepted", `command ${id}`);
          const record = await server.stores.commandLog.get(id);
          assert.equal(record?.status, "accepted");
        }
        assert.deepEqual([...verdicts.values()].filter((n) => n !== 1), []);
        assert.equal(verdicts.size, ids.length, "one verdict per command, heard once");
        const local = (await first.readAll()).map(comparable);
        assert.deepEqual(local, await serverEvents(server));
        assert.equal(local.length, ids.length);
        await first.close();
        await second.close();
        await server.close();
      },
    );

    await t.step(
      "a push whose answer is lost after the commit is pushed again: no duplicates",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const sync = await client(net);
        await sync.sync();
        // The first push commits, and its answer never arrives.
        net.loseAnswers = 1;
        await sync.dispatch({
          type: "OpenAccount",
          data: { accountId: "L-1", owner: "Lee" },
        });
        for (let i = 1; i <= 4; i++) {
          await sync.dispatch({ type: "Deposit", data: { accountId: "L-1", amount: i } });
        }
        while ((await sync.pending()).length > 0) await sync.sync();
        assert.equal(net.loseAnswers, 0, "an answer was lost");
        assert.ok(net.duplicates >= 1, "the lost push's commands were pushed again");
        assert.equal(sync.status, "online");
        const events = await serverEvents(server);
        assert.equal(events.length, 5, "each command's events once");
        assert.equal(await balance(sync, "L-1"), 10);
        assert.deepEqual((await sync.readAll()).map(comparable), events);
        await sync.close();
        await server.close();
      },
    );

    await t.step(
      "two clients overdraw one account offline: one accepted, the other rejected with the reason, kept after reopening",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const ada = await client(net, { user: "ada" });
        const bobsName = `sync-bob-${names++}`;
        const bob = await client(net, { user: "bob", name: bobsName });
        await ada.dispatch({
          type: "OpenAccount",
          data: { accountId: "J-1", owner: "joint" },
        });
        await ada.dispatch({ type: "Deposit", data: { accountId: "J-1", amount: 100 } });
        await ada.sync();
        await bob.sync();
        assert.equal(await balance(bob, "J-1"), 100);
        net.up = false;
        const fromAda = await ada.dispatch({
          type: "Withdraw",
          data: { accountId: "J-1", amount: 80 },
        });
        const fromBob = await bob.dispatch({
          type: "Withdraw",
          data: { accountId: "J-1", amount: 80 },
        });
        assert.equal(fromAda.status, "pending");
        assert.equal(fromBob.status, "pending");
        assert.equal(await balance(bob, "J-1"), 20, "the page applies its prediction");
        net.up = true;
        await ada.sync();
        // Bob's pull arrives before his push: his withdrawal is now predicted rejected.
        net.pushes = false;
        await bob.sync();
        const predicted = await bob.outcome(fromBob.commandId);
        assert.equal(predicted?.state, "pending", "the server is the judge");
        assert.equal(predicted?.predicted?.status, "rejected");
        assert.equal(predicted?.predicted?.reason?.code, "insufficient_funds");
        assert.equal(await balance(bob, "J-1"), 20, "Ada's withdrawal, not Bob's");
        net.pushes = true;
        await bob.sync();
        const verdict = await bob.outcome(fromBob.commandId);
        assert.equal(verdict?.state, "rejected");
        assert.equal(verdict?.reason?.code, "insufficient_funds");
        assert.match(verdict?.reason?.message ?? "", /insufficient funds: balance 20/);
        assert.equal((await ada.outcome(fromAda.commandId))?.state, "accepted");
        // The verdict and its reason survive closing the page.
        await bob.close();
        const reopened = await client(net, { user: "bob", name: bobsName });
        const kept = await reopened.outcome(fromBob.commandId);
        assert.equal(kept?.state, "rejected");
        assert.equal(kept?.reason?.code, "insufficient_funds");
        assert.deepEqual(
          (await reopened.outcomes()).filter((o) => o.state === "rejected").map((o) =>
            o.commandId
          ),
          [fromBob.commandId],
        );
        await reopened.close();
        await ada.close();
        await server.close();
      },
    );

    await t.step(
      "a transfer is decided offline over both accounts by the same multi-stream decider as the server's",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const sync = await client(net);
        net.up = false;
        for (const accountId of ["T-1", "T-2"]) {
          await sync.dispatch({
            type: "OpenAccount",
            data: { accountId, owner: accountId },
          });
        }
        await sync.dispatch({ type: "Deposit", data: { accountId: "T-1", amount: 40 } });
        const transfer = (transferId: string, to: string, amount: number) =>
          sync.dispatch({
            type: "Transfer",
            data: { transferId, from: "T-1", to, amount },
          });
        // Refused in the page: more than the sender holds, a receiver that does not exist.
        const overdraft = await transfer("x-1", "T-2", 41);
        assert.equal(
          overdraft.status === "rejected" && overdraft.reason.code,
          "insufficient_funds",
        );
        const nowhere = await transfer("x-2", "T-9", 1);
        assert.equal(
          nowhere.status === "rejected" && nowhere.reason.code,
          "account_not_found",
        );
        const same = await transfer("x-3", "T-1", 1);
        assert.equal(same.status === "rejected" && same.reason.code, "same_stream");
        const sent = await transfer("t-1", "T-2", 30);
        assert.equal(sent.status, "pending");
        assert.deepEqual(
          sent.status === "pending" && sent.events.map((e) => [e.streamId, e.type]),
          [["account-T-1", "TransferSent"], ["account-T-2", "TransferReceived"]],
        );
        assert.equal(await balance(sync, "T-1"), 10);
        assert.equal(await balance(sync, "T-2"), 30);
        net.up = true;
        while ((await sync.pending()).length > 0) await sync.sync();
        assert.equal((await sync.outcome(sent.commandId))?.state, "accepted");
        assert.deepEqual(
          (await sync.readAll()).map(comparable),
          await serverEvents(server),
        );
        await sync.close();
        await server.close();
      },
    );

    await t.step("a verdict is there after the page reloads", async () => {
      const server = await bankServer(open, { basePath: "/sync" });
      const net = network(() => server.handler);
      const name = `sync-reload-${names++}`;
      let sync = await client(net, { name });
      const opened = await sync.dispatch({
        type: "OpenAccount",
        data: { accountId: "R-1", owner: "Ria" },
      });
      await sync.sync();
      net.up = false;
      const deposit = await sync.dispatch({
        type: "Deposit",
        data: { accountId: "R-404", amount: 5 },
      });
      assert.equal(deposit.status, "rejected", "refused in the page: no account R-404");
      const again = await sync.dispatch({
        type: "OpenAccount",
        data: { accountId: "R-2", owner: "Ria" },
      });
      await sync.close();
      sync = await client(net, { name });
      net.up = true;
      await sync.sync();
      assert.equal((await sync.outcome(opened.commandId))?.state, "accepted");
      assert.equal((await sync.outcome(again.commandId))?.state, "accepted");
      await sync.close();
      sync = await client(net, { name });
      const outcomes = await sync.outcomes();
      assert.deepEqual(outcomes.map((o) => o.state), ["accepted", "accepted"]);
      assert.equal(await sync.dismiss(opened.commandId), true);
      assert.deepEqual((await sync.outcomes()).map((o) => o.commandId), [
        again.commandId,
      ]);
      await sync.close();
      await server.close();
    });

    await t.step(
      "data the push cannot carry as JSON is refused at dispatch, nothing journalled",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const sync = await client(net);
        const refused = await sync.dispatch({
          type: "OpenAccount",
          data: { accountId: "J-1", owner: "Jo", openedAt: new Date() },
        } as unknown as BankCommand);
        assert.equal(refused.status, "rejected");
        if (refused.status === "rejected") {
          assert.equal(refused.reason.code, "validation_failed");
          assert.match(refused.reason.message, /data\.openedAt/);
        }
        assert.deepEqual(await sync.pending(), []);
        await sync.close();
        await server.close();
      },
    );

    await t.step(
      "a command id dispatched twice is refused with a typed error; the first stays as it was",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const sync = await client(net);
        net.up = false;
        const first = await sync.dispatch(
          { type: "OpenAccount", data: { accountId: "T-1", owner: "Tia" } },
          { commandId: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a57" },
        );
        await assert.rejects(
          sync.dispatch(
            { type: "OpenAccount", data: { accountId: "T-2", owner: "Tia" } },
            { commandId: first.commandId },
          ),
          CommandAlreadyDispatchedError,
        );
        await assert.rejects(
          sync.dispatch(
            { type: "OpenAccount", data: { accountId: "T-3", owner: "Tia" } },
            { commandId: "" },
          ),
          TypeError,
        );
        const pending = await sync.pending();
        assert.deepEqual(pending.map((c) => c.data), [{
          accountId: "T-1",
          owner: "Tia",
        }]);
        await sync.close();
        await server.close();
      },
    );

    await t.step(
      "a page closed between dispatch and push: the next page pushes it",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const name = `sync-killed-${names++}`;
        net.up = false;
        const tab = await client(net, { name });
        const result = await tab.dispatch({
          type: "OpenAccount",
          data: { accountId: "K-1", owner: "Kim" },
        });
        await tab.close();
        net.up = true;
        const next = await client(net, { name });
        await next.sync();
        assert.equal((await next.outcome(result.commandId))?.state, "accepted");
        assert.equal(
          (await server.stores.commandLog.get(result.commandId))?.status,
          "accepted",
        );
        await next.close();
        await server.close();
      },
    );

    await t.step(
      "the server's store is wiped (a new server id): the copy is replaced, pending commands decided by the new server",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        const sync = await client(net);
        await sync.dispatch({
          type: "OpenAccount",
          data: { accountId: "W-1", owner: "Wu" },
        });
        await sync.dispatch({ type: "Deposit", data: { accountId: "W-1", amount: 50 } });
        await sync.sync();
        net.up = false;
        const deposit = await sync.dispatch({
          type: "Deposit",
          data: { accountId: "W-1", amount: 7 },
        });
        const other = await sync.dispatch({
          type: "OpenAccount",
          data: { accountId: "W-2", owner: "Wu" },
        });
        await server.wipe();
        net.up = true;
        await sync.sync();
        await sync.sync();
        // W-1 is gone with the old store: the new server refuses the deposit, with why.
        const refused = await sync.outcome(deposit.commandId);
        assert.equal(refused?.state, "rejected");
        assert.equal(refused?.reason?.code, "account_not_found");
        assert.equal((await sync.outcome(other.commandId))?.state, "accepted");
        assert.deepEqual(
          (await sync.readAll()).map(comparable),
          await serverEvents(server),
        );
        assert.equal(await balance(sync, "W-1"), 0);
        await sync.close();
        await server.close();
      },
    );

    await t.step(
      "401, or 403 for another user's outbox: sync pauses, asks for sign-in, the outbox untouched; resumes after",
      async () => {
        const server = await bankServer(open, { basePath: "/sync" });
        const net = network(() => server.handler);
        let token = "";
        const sync = await client(net, {
          headers: (): HeadersInit => token ? { authorization: `Bearer ${token}` } : {},
        });
        const result = await sync.dispatch({
          type: "OpenAccount",
          data: { accountId: "N-1", owner: "Nia" },
        });
        await sync.sync();
        assert.equal(sync.status, "needs-auth");
        assert.equal((await sync.pending()).length, 1);
        token = "nia";
        await sync.sync();
        assert.equal(sync.status, "online");
        assert.equal((await sync.outcome(result.commandId))?.state, "accepted");
        assert.equal(
          (await server.stores.commandLog.get(result.commandId))?.metadata.userId,
          "nia",
        );
        // Another user signs in on this outbox: 403, paused, the outbox untouched.
        token = "eve";
        const eves = await sync.dispatch({
          type: "Deposit",
          data: { accountId: "N-1", amount: 5 },
        });
        await sync.sync();
        assert.equal(sync.status, "needs-auth");
        assert.equal((await sync.outcome(eves.commandId))?.state, "pending");
        assert.equal(await server.stores.commandLog.get(eves.commandId), undefined);
        token = "nia";
        await sync.sync();
        assert.equal((await sync.outcome(eves.commandId))?.state, "accepted");
        await sync.close();
        await server.close();
      },
    );

    await t.step(
      "an unsupported schema version: 'update-required', the outbox kept",
      async () => {
        const server = await bankServer(open, {
          basePath: "/sync",
          supportsSchema: (version) => version >= 2,
        });
        const net = network(() => server.handler);
        const sync = await client(net, { schemaVersion: 1 });
        await sync.dispatch({
          type: "OpenAccount",
          data: { accountId: "U-1", owner: "Uma" },
        });
        await sync.sync();
        assert.equal(sync.status, "update-required");
        assert.equal((await sync.pending()).length, 1);
        assert.equal(net.pushed, 1);
        await sync.sync();
        assert.equal(sync.status, "update-required");
        await sync.close();
        await server.close();
      },
    );

    await t.step(
      "a poke on /events brings another client's events without asking",
      async () => {
        const server = await bankServer(open, { basePath: "/sync", pollIntervalMs: 50 });
        const net = network(() => server.handler);
        const writer = await client(net, { user: "wes" });
        const reader = await client(net, { user: "rae", listen: true });
        await reader.sync();
        const changed = new Promise<void>((resolve) => reader.onChange(resolve));
        await writer.dispatch({
          type: "OpenAccount",
          data: { accountId: "P-1", owner: "Pat" },
        });
        await writer.sync();
        await changed;
        assert.equal((await reader.readAll()).length, 1);
        await writer.close();
        await reader.close();
        await server.close();
      },
    );

    await t.step(
      "a write through another server on the same store wakes /events listeners through the store's own notifier",
      async () => {
        // Polling is an hour away: only the store (NOTIFY, a KV watch, in-process) can wake it.
        const server = await bankServer(open, {
          basePath: "/sync",
          pollIntervalMs: HOUR,
        });
        const other = syncHandler<BankCommand>({
          bus: createBank({ store: server.stores.events, log: server.stores.commandLog }),
          store: server.stores.events,
          commandLog: server.stores.commandLog,
          basePath: "/sync",
          authenticate: bearer,
        });
        const reader = await client(network(() => server.handler), {
          user: "rae",
          listen: true,
        });
        const writer = await client(network(() => other), { user: "wes" });
        await reader.sync();
        // The listener is connected once the handler answered /events.
        await new Promise((resolve) => setTimeout(resolve, 100));
        const changed = new Promise<void>((resolve) => reader.onChange(resolve));
        await writer.dispatch({
          type: "OpenAccount",
          data: { accountId: "Q-1", owner: "Quinn" },
        });
        await writer.sync();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const woken = await Promise.race([
          changed.then(() => true),
          new Promise<false>((resolve) =>
            timer = setTimeout(() => resolve(false), 20_000)
          ),
        ]);
        clearTimeout(timer);
        assert.ok(woken, "the listener was not woken within 20 s");
        assert.deepEqual((await reader.readAll()).map((e) => e.streamId), [
          "account-Q-1",
        ]);
        await writer.close();
        await reader.close();
        other.close();
        await server.close();
      },
    );
  };
}
