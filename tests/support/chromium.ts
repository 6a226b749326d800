/**
 * Real Chromium for the browser tests: Debian's `chromium` (or the binary
 * CHROMIUM_PATH names), driven by puppeteer-core, headless, on pages served
 * from 127.0.0.1. Where no Chromium exists, the tests say so loudly and skip.
 */
import * as esbuild from "esbuild";
import puppeteer, { type Browser } from "puppeteer-core";

export const chromiumPath: string | undefined = [
  Deno.env.get("CHROMIUM_PATH"),
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
].find((path) => {
  if (!path) return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

if (!chromiumPath) {
  console.warn(
    "\n⚠ SKIPPING browser tests: no Chromium found (apt-get install -y chromium, or set CHROMIUM_PATH).\n",
  );
}

/** The project's own import-map entries (`@verdict/verdict/…`), for esbuild. */
const localAliases: Record<string, string> = Object.fromEntries(
  Object.entries(
    (JSON.parse(Deno.readTextFileSync("deno.json")) as { imports: Record<string, string> })
      .imports,
  ).filter(([, target]) => target.startsWith("./")),
);

/** Bundles a page script with esbuild, in memory. */
export async function bundle(entry: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [entry],
    alias: localAliases,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "warning",
  });
  await esbuild.stop();
  return result.outputFiles[0].text;
}

/** Serves files from memory on 127.0.0.1 until `close()`. */
export function serve(
  files: Record<string, { body: string; type: string }>,
): {
  readonly origin: string;
  close(): Promise<void>;
} {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const path = new URL(request.url).pathname;
      const file = files[path];
      if (!file) return new Response("not found", { status: 404 });
      return new Response(file.body, { headers: { "content-type": file.type } });
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

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
