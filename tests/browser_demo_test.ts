// deno-only: drives real Chromium.
// The offline bank in real Chromium: click through it, reload, and have two
// pages of the same origin write the same account at once.
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import { demoSite } from "../scripts/demo_site.ts";
import { chromiumPath, withChromium } from "./support/chromium.ts";

async function submit(page: Page, form: string, values: Record<string, string>) {
  for (const [name, value] of Object.entries(values)) {
    await page.$eval(`#${form} [name=${name}]`, (input, v) => {
      (input as HTMLInputElement).value = v as string;
    }, value);
  }
  // Clear the status line, so the next outcome is seen even when it reads the same.
  await page.$eval("#status", (el) => el.textContent = "");
  await page.click(`#${form} button`);
  await page.waitForFunction(() => document.querySelector("#status")!.textContent !== "");
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

async function ready(page: Page): Promise<void> {
  await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
}

Deno.test({
  name:
    "the offline bank in Chromium: state and audit trail survive a reload; two pages converge",
  ignore: chromiumPath === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const site = await demoSite();
    try {
      await withChromium(async (browser) => {
        const page = await browser.newPage();
        await page.setViewport({ width: 1200, height: 800 });
        await page.goto(site.origin);
        await ready(page);

        await t.step("open, deposit, a refused overdraft, a transfer", async () => {
          assert.match(
            await submit(page, "open", { accountId: "A-1", owner: "Alice" }),
            /accepted/,
          );
          assert.match(
            await submit(page, "open", { accountId: "B-1", owner: "Bob" }),
            /accepted/,
          );
          assert.match(
            await submit(page, "deposit", { accountId: "A-1", amount: "100" }),
            /accepted/,
          );
          assert.match(
            await submit(page, "deposit", { accountId: "B-1", amount: "20" }),
            /accepted/,
          );
          assert.match(
            await submit(page, "withdraw", { accountId: "B-1", amount: "500" }),
            /REJECTED — insufficient funds: balance 20, requested 500/,
          );
          assert.match(
            await submit(page, "transfer", { from: "A-1", to: "B-1", amount: "30" }),
            /accepted/,
          );
          assert.deepEqual(await balances(page), { "A-1": 70, "B-1": 50 });
        });

        await t.step("a screenshot of the page", async () => {
          await Deno.mkdir("dist", { recursive: true });
          await page.screenshot({ path: "dist/offline-bank.png" });
          assert.ok((await Deno.stat("dist/offline-bank.png")).size > 10_000);
          console.log("    screenshot: dist/offline-bank.png");
        });

        await t.step(
          "after a reload, the balances and the audit trail are intact",
          async () => {
            await page.reload();
            await ready(page);
            assert.deepEqual(await balances(page), { "A-1": 70, "B-1": 50 });
            const audit = await page.$$eval(
              "#audit tr",
              (rows) => rows.map((r) => r.textContent),
            );
            assert.equal(audit.length, 6);
            assert.ok(
              audit.some((row) => /WithdrawREJECTEDinsufficient funds/.test(row ?? "")),
            );
          },
        );

        await t.step(
          "two pages deposit into one account at once: conflicts are retried, both converge",
          async () => {
            const other = await browser.newPage();
            await other.goto(site.origin);
            await ready(other);
            const deposits = (p: Page) =>
              p.evaluate(async () => {
                const dispatch = (globalThis as unknown as {
                  verdictDispatch(c: unknown): Promise<{ status: string }>;
                }).verdictDispatch;
                const statuses: string[] = [];
                for (let i = 0; i < 15; i++) {
                  statuses.push(
                    (await dispatch({
                      type: "Deposit",
                      data: { accountId: "A-1", amount: 1 },
                    }))
                      .status,
                  );
                }
                return statuses;
              });
            const [mine, theirs] = await Promise.all([deposits(page), deposits(other)]);
            assert.deepEqual([...mine, ...theirs].filter((s) => s !== "accepted"), []);
            const conflicts = async (p: Page) =>
              (await p.evaluate(() =>
                (globalThis as unknown as {
                  verdictState(): Promise<{ conflicts: number }>;
                })
                  .verdictState()
              )).conflicts;
            const retried = await conflicts(page) + await conflicts(other);
            assert.ok(retried > 0, "the pages met conflicts and the bus retried them");
            console.log(`    conflicts retried by the two pages: ${retried}`);
            // Each page follows the other's appends and shows the same balance.
            for (const p of [page, other]) {
              await p.waitForFunction(
                () =>
                  [...document.querySelectorAll("#balances tr")].some((row) =>
                    row.textContent === "A-1Alice100"
                  ),
                { timeout: 10_000 },
              );
            }
            assert.deepEqual(await balances(page), await balances(other));
          },
        );
      });
    } finally {
      await site.close();
    }
  },
});
