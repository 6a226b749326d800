// deno-only: drives real Chromium.
// Offline sync for real: SyncClient in Chromium pages (Web Locks elect the
// syncing tab, BroadcastChannel tells the others), syncHandler behind a real
// HTTP server on 127.0.0.1 that is stopped and started, over Deno KV on a
// file and over PostgreSQL.
import assert from "node:assert/strict";
import type { Browser, Page } from "puppeteer-core";
import { bundle, chromiumPath, serve, withChromium } from "./support/chromium.ts";
import {
  bankServer,
  postgresStores,
  serverEvents,
  type StoreFactory,
} from "./support/sync_server.ts";
import { testDatabase } from "./support/postgres.ts";
import { HttpSyncServer } from "./support/http_sync_server.ts";
import { kvStores } from "./support/sync_kv.ts";

type Api = {
  open(o: { name: string; url: string; user: string }): Promise<string>;
  // deno-lint-ignore no-explicit-any
  dispatch(command: unknown): Promise<any>;
  pending(): Promise<number>;
  // deno-lint-ignore no-explicit-any
  outcome(id: string): Promise<any>;
  heard(): string[];
  status(): string;
  leader(): boolean;
  events(): Promise<unknown[]>;
  balance(accountId: string): Promise<number>;
  sync(): Promise<void>;
};

/** Calls the page's `syncTest` API. */
function call<K extends keyof Api>(
  page: Page,
  method: K,
  ...args: Parameters<Api[K]>
): Promise<Awaited<ReturnType<Api[K]>>> {
  return page.evaluate(
    (method, args) =>
      // deno-lint-ignore no-explicit-any
      ((globalThis as any).syncTest[method] as (...a: unknown[]) => unknown)(...args),
    method,
    args,
  ) as Promise<Awaited<ReturnType<Api[K]>>>;
}

async function openPage(
  browser: Browser,
  origin: string,
  options: { name: string; url: string; user: string },
): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(origin);
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  await call(page, "open", options);
  return page;
}

async function reopen(
  page: Page,
  options: { name: string; url: string; user: string },
): Promise<void> {
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
  await call(page, "open", options);
}

/** Waits until `check` holds (the pages sync on their own); fails with the last value. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) {
      throw new Error(`waited 30 s for ${what}; last: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

function cases(open: StoreFactory) {
  return async (t: Deno.TestContext) => {
    const script = await bundle("tests/browser/sync_page.ts");
    const site = serve({
      "/": {
        type: "text/html; charset=utf-8",
        body:
          '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>',
      },
      "/page.js": { type: "text/javascript", body: script },
    });
    const server = new HttpSyncServer(await bankServer(open, { basePath: "/sync" }));
    server.start();
    let names = 0;
    try {
      await withChromium(async (browser) => {
        await t.step(
          "server down: 50 commands in two tabs, one reloaded midway; server up: one verdict each, local state = server's",
          async () => {
            const options = { name: `tabs-${names++}`, url: server.url, user: "ann" };
            const first = await openPage(browser, site.origin, options);
            const second = await openPage(browser, site.origin, options);
            await until(
              "a syncing tab",
              async () => [await call(first, "leader"), await call(second, "leader")],
              (l) => l.filter(Boolean).length === 1,
            );
            await server.stop();
            const ids: string[] = [];
            for (let i = 0; i < 50; i++) {
              const command = i < 5
                ? {
                  type: "OpenAccount",
                  data: { accountId: `A-${i}`, owner: `owner ${i}` },
                }
                : { type: "Deposit", data: { accountId: `A-${i % 5}`, amount: i } };
              const result = await call(
                i % 2 === 0 ? first : second,
                "dispatch",
                command,
              );
              assert.equal(result.status, "pending");
              ids.push(result.commandId);
              if (i === 25) await reopen(second, options);
            }
            assert.equal(await call(first, "pending"), 50);
            server.start();
            await until(
              "every command decided",
              () => call(first, "pending"),
              (n) => n === 0,
            );
            for (const id of ids) {
              assert.equal((await call(first, "outcome", id))?.state, "accepted", id);
              assert.equal(
                (await server.server.stores.commandLog.get(id))?.status,
                "accepted",
              );
            }
            for (const tab of [first, second]) {
              const heard = await until(
                "every verdict heard",
                () => call(tab, "heard"),
                (h) => h.length >= ids.length,
              );
              assert.deepEqual(
                [...heard].sort(),
                [...ids].sort(),
                "each verdict heard once",
              );
            }
            const expected = await serverEvents(server.server);
            assert.equal(expected.length, 50);
            await until(
              "the server's events in the page",
              () => call(second, "events"),
              (e) => JSON.stringify(e) === JSON.stringify(expected),
            );
            await first.close();
            await second.close();
          },
        );

        await t.step(
          "an answer lost after the server committed: pushed again, no duplicates",
          async () => {
            const options = { name: `lost-${names++}`, url: server.url, user: "lou" };
            const page = await openPage(browser, site.origin, options);
            await until("online", () => call(page, "status"), (s) => s === "online");
            const before = (await serverEvents(server.server)).length;
            const duplicates = server.duplicates;
            server.loseAnswers = 1;
            await call(page, "dispatch", {
              type: "OpenAccount",
              data: { accountId: "L-9", owner: "Lou" },
            });
            for (let i = 1; i <= 3; i++) {
              await call(page, "dispatch", {
                type: "Deposit",
                data: { accountId: "L-9", amount: i },
              });
            }
            await until(
              "every command decided",
              () => call(page, "pending"),
              (n) => n === 0,
            );
            assert.equal(server.loseAnswers, 0, "an answer was lost");
            assert.ok(
              server.duplicates > duplicates,
              "and its commands were pushed again",
            );
            const events = await serverEvents(server.server);
            assert.equal(events.length - before, 4, "each command's events once");
            assert.equal(
              await until(
                "the balance",
                () => call(page, "balance", "L-9"),
                (b) => b === 6,
              ),
              6,
            );
            await page.close();
          },
        );

        await t.step(
          "two clients overdraw one account offline: one accepted, one rejected with the reason, still shown after a reload",
          async () => {
            const cat = { name: `cat-${names++}`, url: server.url, user: "cat" };
            const dan = { name: `dan-${names++}`, url: server.url, user: "dan" };
            const catPage = await openPage(browser, site.origin, cat);
            const danPage = await openPage(browser, site.origin, dan);
            await call(catPage, "dispatch", {
              type: "OpenAccount",
              data: { accountId: "J-9", owner: "joint" },
            });
            await call(catPage, "dispatch", {
              type: "Deposit",
              data: { accountId: "J-9", amount: 100 },
            });
            await until(
              "Dan sees the deposit",
              () => call(danPage, "balance", "J-9"),
              (b) => b === 100,
            );
            await server.stop();
            const withdraw = { type: "Withdraw", data: { accountId: "J-9", amount: 80 } };
            const fromCat = await call(catPage, "dispatch", withdraw);
            const fromDan = await call(danPage, "dispatch", withdraw);
            assert.equal(fromCat.status, "pending");
            assert.equal(fromDan.status, "pending");
            server.start();
            const verdicts = [];
            for (
              const [page, result] of [[catPage, fromCat], [danPage, fromDan]] as const
            ) {
              verdicts.push(
                await until(
                  "a verdict",
                  () => call(page, "outcome", result.commandId),
                  (o) => o?.state !== "pending",
                ),
              );
            }
            assert.deepEqual(verdicts.map((v) => v.state).sort(), [
              "accepted",
              "rejected",
            ]);
            const loser = verdicts[0].state === "rejected" ? 0 : 1;
            const [page, options, result] = loser === 0
              ? [catPage, cat, fromCat]
              : [danPage, dan, fromDan];
            assert.equal(verdicts[loser].reason.code, "insufficient_funds");
            await reopen(page, options);
            const kept = await call(page, "outcome", result.commandId);
            assert.equal(kept.state, "rejected");
            assert.match(
              kept.reason.message,
              /insufficient funds: balance 20, requested 80/,
            );
            await until("both at 20", async () => [
              await call(catPage, "balance", "J-9"),
              await call(danPage, "balance", "J-9"),
            ], (b) => b[0] === 20 && b[1] === 20);
            await catPage.close();
            await danPage.close();
          },
        );

        await t.step(
          "a tab killed between dispatch and push: the next tab pushes it",
          async () => {
            const options = { name: `killed-${names++}`, url: server.url, user: "kai" };
            await server.stop();
            const doomed = await openPage(browser, site.origin, options);
            const result = await call(doomed, "dispatch", {
              type: "OpenAccount",
              data: { accountId: "K-9", owner: "Kai" },
            });
            assert.equal(result.status, "pending");
            await doomed.close();
            server.start();
            const next = await openPage(browser, site.origin, options);
            await until(
              "the verdict",
              () => call(next, "outcome", result.commandId),
              (o) => o?.state === "accepted",
            );
            assert.equal(
              (await server.server.stores.commandLog.get(result.commandId))?.status,
              "accepted",
            );
            await next.close();
          },
        );

        await t.step(
          "the server's store wiped (a new server id): nothing lost, pending commands decided by the new server",
          async () => {
            const options = { name: `wiped-${names++}`, url: server.url, user: "wyn" };
            const page = await openPage(browser, site.origin, options);
            await call(page, "dispatch", {
              type: "OpenAccount",
              data: { accountId: "W-9", owner: "Wyn" },
            });
            await until("synced", () => call(page, "pending"), (n) => n === 0);
            await until("the copy", () => call(page, "events"), (e) => e.length > 0);
            await server.stop();
            const deposit = await call(page, "dispatch", {
              type: "Deposit",
              data: { accountId: "W-9", amount: 3 },
            });
            const opened = await call(page, "dispatch", {
              type: "OpenAccount",
              data: { accountId: "W-10", owner: "Wyn" },
            });
            await server.server.wipe();
            server.start();
            const refused = await until(
              "a verdict",
              () => call(page, "outcome", deposit.commandId),
              (o) => o?.state !== "pending",
            );
            assert.equal(refused.state, "rejected");
            assert.equal(refused.reason.code, "account_not_found");
            assert.equal(
              (await until(
                "a verdict",
                () => call(page, "outcome", opened.commandId),
                (o) => o?.state !== "pending",
              )).state,
              "accepted",
            );
            const expected = await serverEvents(server.server);
            await until(
              "the new server's events in the page",
              () => call(page, "events"),
              (e) => JSON.stringify(e) === JSON.stringify(expected),
            );
            await page.close();
          },
        );
      });
    } finally {
      await server.stop().catch(() => {});
      await server.server.close();
      await site.close();
    }
  };
}

const database = await testDatabase();

Deno.test({
  name: "offline sync in Chromium over Deno KV",
  ignore: chromiumPath === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "verdict-sync-chromium-" });
    try {
      await cases(kvStores(dir))(t);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "offline sync in Chromium over PostgreSQL",
  ignore: chromiumPath === undefined || database === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    try {
      await cases(postgresStores(database!))(t);
    } finally {
      await database?.close();
    }
  },
});
