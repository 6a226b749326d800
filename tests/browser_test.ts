// deno-only: drives real Chromium.
// The contract suites in real Chromium, against the IndexedDB stores and the
// memory stores: each case is reported here by name.
import { fullSoak } from "./support/soak.ts";
import { bundle, chromiumPath, serve, withChromium } from "./support/chromium.ts";

Deno.test({
  name: "in real Chromium, the IndexedDB and memory stores keep every contract",
  ignore: chromiumPath === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const script = await bundle("tests/browser/contract_page.ts");
    const site = serve({
      "/": {
        type: "text/html",
        body: `<!doctype html><meta charset="utf-8"><title>verdict contracts</title>
               <script type="module" src="/suite.js"></script>`,
      },
      "/suite.js": { type: "text/javascript", body: script },
    });
    try {
      const results = await withChromium(async (browser) => {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(String(error)));
        // The suites' figures (the exactly-once counts) go to the page's console.
        page.on("console", (message) => {
          if (message.text().startsWith("exactly once")) {
            console.log(`    in Chromium: ${message.text()}`);
          }
        });
        await page.goto(`${site.origin}/?soak=${fullSoak ? "full" : "small"}`);
        await page.waitForFunction("window.verdictResults !== undefined || false", {
          timeout: 240_000,
        }).catch(() => {
          throw new Error(`the suites did not finish in the page: ${errors.join("\n")}`);
        });
        const userAgent = await browser.version();
        return {
          userAgent,
          list: await page.evaluate("window.verdictResults") as {
            suite: string;
            name: string;
            passed: boolean;
            error?: string;
          }[],
        };
      });
      console.log(`    (ran in ${results.userAgent})`);
      for (const result of results.list) {
        await t.step(`${result.suite}: ${result.name}`, () => {
          if (!result.passed) throw new Error(result.error);
        });
      }
    } finally {
      await site.close();
    }
  },
});
