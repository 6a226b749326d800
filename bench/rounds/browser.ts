/**
 * `deno task bench:rounds browser`: the IndexedDB stores measured in real Chromium,
 * each beside a raw `idb` baseline: one command per transaction against one
 * `put` per transaction, and 1,000 events in one append against 1,000 `put`s
 * in one transaction.
 */
import {
  bundle,
  chromiumPath,
  serve,
  withChromium,
} from "../../tests/support/chromium.ts";

if (!chromiumPath) Deno.exit(0);
const site = serve({
  "/": {
    type: "text/html",
    body:
      `<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>`,
  },
  "/bench.js": {
    type: "text/javascript",
    body: await bundle("bench/pages/bench_page.ts"),
  },
});
try {
  const figures = await withChromium(async (browser) => {
    const page = await browser.newPage();
    await page.goto(site.origin);
    await page.waitForFunction("window.verdictBench !== undefined", { timeout: 120_000 });
    return {
      version: await browser.version(),
      ...(await page.evaluate("window.verdictBench") as {
        rounds: number;
        commandMs: number;
        rawPutMs: number;
        ratios: number[];
        batchMs: number;
        rawBatchMs: number;
        batchSize: number;
      }),
    };
  });
  const perSecond = (ms: number, n = 1) =>
    Math.round((n * 1000) / ms).toLocaleString("en");
  const ratios = [...figures.ratios].sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)];
  console.log(
    `IndexedDB in ${figures.version} (durability strict), medians of ${figures.rounds} alternating rounds`,
  );
  console.log(
    `  one command per transaction   ${figures.commandMs.toFixed(3)} ms  (${
      perSecond(figures.commandMs)
    }/s)   raw idb put per transaction ${figures.rawPutMs.toFixed(3)} ms  → ${
      ratio.toFixed(2)
    }× the baseline (rounds: ${ratios[0].toFixed(2)}–${ratios.at(-1)!.toFixed(2)})`,
  );
  console.log(
    `  ${figures.batchSize} events in one append    ${figures.batchMs.toFixed(1)} ms  (${
      perSecond(figures.batchMs, figures.batchSize)
    } events/s)   raw: ${figures.batchSize} puts in one transaction ${
      figures.rawBatchMs.toFixed(1)
    } ms`,
  );
} finally {
  await site.close();
}
