// deno-only: drives real Chromium.
// The offline bank in real Chromium, against its sync server on a Deno KV
// file: click through it, stop the server, write offline from two users,
// start the server again, and see the server's refusal shown — and still
// shown after a reload. Screenshots in dist/.
import assert from "node:assert/strict";
import type { Browser, Page } from "puppeteer-core";
import { type DemoSite, demoSite } from "../scripts/demo_site.ts";
import { chromiumPath, withChromium } from "./support/chromium.ts";

async function submit(page: Page, form: string, values: Record<string, string>) {
  // A click is a user's: in the tab in front (a background tab draws no frames).
  await page.bringToFront();
  for (const [name, value] of Object.entries(values)) {
    await page.$eval(`#${form} [name=${name}]`, (input, v) => {
      (input as HTMLInputElement).value = v as string;
    }, value);
  }
  // Clear the status line, so the next outcome is seen even when it reads the same.
  await page.$eval("#status", (el) => el.textContent = "");
  await page.click(`#${form} button`);
  await page.waitForFunction(
    () => document.querySelector("#status")!.textContent !== "",
    {
      // Polled, not per animation frame: a page in the background draws no frames.
      polling: 100,
    },
  );
  return await page.$eval("#status", (el) => el.textContent ?? "");
}

async function balances(page: Page): Promise<Record<string, number>> {
  return Object.fromEntries(
    await page.$$eval("#balances tr", (rows) =>
      rows.map((row) => {
        const cells = [...row.querySelectorAll("td")].map((td) => td.textContent ?? "");
        return [cells[0], Number(cells[2])];
      })),
  );
}

/** The balances once they read `expected` (a live query redraws them a moment after a change). */
async function balancesAre(page: Page, expected: Record<string, number>): Promise<void> {
  await page.waitForFunction(
    (expected) =>
      JSON.stringify(Object.fromEntries(
        [...document.querySelectorAll("#balances tr")].map((row) => {
          const cells = [...row.querySelectorAll("td")].map((td) => td.textContent ?? "");
          return [cells[0], Number(cells[2])];
        }),
      )) === JSON.stringify(expected),
    { timeout: 30_000, polling: 100 },
    expected,
  ).catch(async (error) => {
    throw new Error(`balances ${JSON.stringify(await balances(page))}: ${error}`);
  });
}

async function commands(page: Page): Promise<string[]> {
  return await page.$$eval(
    "#commands tr",
    (rows) => rows.map((row) => row.textContent ?? ""),
  );
}

async function open(browser: Browser, site: DemoSite, user: string): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  await page.goto(`${site.origin}/?user=${user}`);
  await ready(page);
  return page;
}

async function ready(page: Page): Promise<void> {
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
}

/** Waits until every command of the page has the server's verdict. */
async function synced(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      ![...document.querySelectorAll("#commands tr")].some((r) =>
        r.className === "pending"
      ),
    { timeout: 30_000, polling: 100 },
  );
}

Deno.test({
  name:
    "the offline bank in Chromium: offline writes from two users sync when the server is back; the refusal is shown, and kept after a reload",
  ignore: chromiumPath === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "verdict-demo-" });
    const store = `kv:${dir}/bank.kv`;
    let site = await demoSite(0, { store });
    try {
      await withChromium(async (browser) => {
        const alice = await open(browser, site, "alice");

        await t.step(
          "open, deposit, an overdraft refused in the page, a transfer",
          async () => {
            assert.match(
              await submit(alice, "open", { accountId: "A-1", owner: "Alice" }),
              /saved on this device/,
            );
            await submit(alice, "open", { accountId: "B-1", owner: "Bob" });
            await submit(alice, "deposit", { accountId: "A-1", amount: "100" });
            await submit(alice, "deposit", { accountId: "B-1", amount: "20" });
            assert.match(
              await submit(alice, "withdraw", { accountId: "B-1", amount: "500" }),
              /REJECTED — insufficient funds: balance 20, requested 500/,
            );
            await submit(alice, "transfer", { from: "A-1", to: "B-1", amount: "30" });
            await synced(alice);
            await balancesAre(alice, { "A-1": 70, "B-1": 50 });
            const verdicts = await commands(alice);
            assert.equal(verdicts.length, 5);
            assert.ok(
              verdicts.every((row) => row.endsWith("ACCEPTED")),
              verdicts.join("\n"),
            );
          },
        );

        const bob = await open(browser, site, "bob");
        await t.step("a second user's page pulls the server's events", async () => {
          await balancesAre(bob, { "A-1": 70, "B-1": 50 });
        });

        let loser: Page;
        await t.step(
          "server stopped: both overdraw A-1, each page accepts its own",
          async () => {
            const port = site.port;
            await site.close();
            for (const page of [alice, bob]) {
              assert.match(
                await submit(page, "withdraw", { accountId: "A-1", amount: "60" }),
                /saved on this device/,
              );
              await balancesAre(page, { "A-1": 10, "B-1": 50 });
            }
            await Deno.mkdir("dist", { recursive: true });
            // A screenshot needs a frame: only the tab in front draws.
            await alice.bringToFront();
            await alice.screenshot({ path: "dist/offline-bank-offline.png" });
            site = await demoSite(port, { store });
          },
        );

        await t.step(
          "server back: one accepted, one refused with the reason",
          async () => {
            await synced(alice);
            await synced(bob);
            const rows = [...await commands(alice), ...await commands(bob)];
            const refused = rows.filter((row) => row.includes("REJECTED"));
            assert.equal(refused.length, 1, rows.join("\n"));
            assert.match(refused[0], /insufficient funds: balance 10, requested 60/);
            loser = (await commands(alice)).some((row) => row.includes("REJECTED"))
              ? alice
              : bob;
            await loser.waitForSelector("#notice:not([hidden])", { timeout: 30_000 });
            assert.match(
              await loser.$eval("#notice", (el) => el.textContent ?? ""),
              /The server refused Withdraw .*insufficient funds/,
            );
            for (const page of [alice, bob]) {
              await page.waitForFunction(
                () =>
                  [...document.querySelectorAll("#balances tr")].some((row) =>
                    row.textContent?.startsWith("A-1Alice10")
                  ),
                { timeout: 30_000, polling: 100 },
              );
            }
            await loser.bringToFront();
            await loser.screenshot({ path: "dist/offline-bank-refused.png" });
            assert.ok((await Deno.stat("dist/offline-bank-refused.png")).size > 10_000);
            console.log(
              "    screenshots: dist/offline-bank-offline.png, dist/offline-bank-refused.png",
            );
          },
        );

        await t.step(
          "after a reload, the refusal and its reason are still shown",
          async () => {
            await loser.reload();
            await ready(loser);
            const rows = await commands(loser);
            assert.ok(
              rows.some((row) =>
                /REJECTED — insufficient funds: balance 10, requested 60/.test(row)
              ),
              rows.join("\n"),
            );
          },
        );
      });
    } finally {
      await site.close().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
