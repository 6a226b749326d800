/**
 * The offline bank as a site: the bundled app and its page, served from
 * memory on 127.0.0.1. Used by `deno task demo:browser` and the browser tests.
 */
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url);

/** The project's own import-map entries (`@verdict/verdict/…`), for esbuild. */
export function localAliases(): Record<string, string> {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
    imports: Record<string, string>;
  };
  return Object.fromEntries(
    Object.entries(config.imports)
      .filter(([, target]) => target.startsWith("./"))
      .map((
        [name, target],
      ) => [name, decodeURIComponent(new URL(target, root).pathname)]),
  );
}

/** Bundles a browser script with esbuild, in memory. */
export async function bundleForBrowser(entry: string): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [decodeURIComponent(new URL(entry, root).pathname)],
    alias: localAliases(),
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
export function serveFiles(
  files: Record<string, { body: string; type: string }>,
  port = 0,
): { readonly origin: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (request) => {
      const file = files[new URL(request.url).pathname];
      if (!file) return new Response("not found", { status: 404 });
      return new Response(file.body, { headers: { "content-type": file.type } });
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** Bundles and serves the offline bank. */
export async function demoSite(
  port = 0,
): Promise<{ origin: string; close(): Promise<void> }> {
  const app = await bundleForBrowser("browser/demo/app.ts");
  const page = await Deno.readTextFile(new URL("browser/demo/index.html", root));
  return serveFiles({
    "/": { type: "text/html; charset=utf-8", body: page },
    "/app.js": { type: "text/javascript", body: app },
  }, port);
}
