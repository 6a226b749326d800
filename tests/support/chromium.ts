/**
 * Real Chromium for the browser tests: Debian's `chromium` (or the binary
 * CHROMIUM_PATH names), driven by puppeteer-core, headless, on pages served
 * from 127.0.0.1. Where no Chromium exists, the tests say so loudly and skip.
 */
import { firstFile } from "./programs.ts";
import puppeteer, { type Browser } from "puppeteer-core";

export const chromiumPath: string | undefined = firstFile([
  Deno.env.get("CHROMIUM_PATH"),
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
]);

if (!chromiumPath) {
  console.warn(
    "\n⚠ SKIPPING browser tests: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH).\n",
  );
}

export {
  bundleForBrowser as bundle,
  serveFiles as serve,
} from "../../scripts/demo_site.ts";

/** Launches headless Chromium with a fresh profile; closes it and removes the profile after. */
export async function withChromium<T>(
  body: (browser: Browser) => Promise<T>,
): Promise<T> {
  const profile = await Deno.makeTempDir({ prefix: "verdict-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
    ],
  });
  try {
    return await body(browser);
  } finally {
    await browser.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
