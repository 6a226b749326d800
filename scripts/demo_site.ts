/**
 * The offline bank as a site: the bundled app and its page, and the sync
 * server the page pushes its commands to, over the demo's store, on
 * 127.0.0.1. Used by `deno task demo:browser` and the browser tests.
 */
import * as esbuild from "esbuild";
import type { CommandLogStore, EventStore } from "@verdict/verdict";
import { openKvStores } from "@verdict/verdict/kv";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { openPostgresStores } from "@verdict/verdict/postgres";
import { syncHandler } from "@verdict/verdict/sync";
import { type BankCommand, createBank } from "../examples/bank.ts";

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

/** Serves files from memory on 127.0.0.1 until `close()`; other paths go to `fallback`. */
export function serveFiles(
  files: Record<string, { body: string; type: string }>,
  port = 0,
  fallback?: (request: Request) => Promise<Response>,
): { readonly origin: string; close(): Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (request) => {
      const file = files[new URL(request.url).pathname];
      if (file) {
        return new Response(file.body, { headers: { "content-type": file.type } });
      }
      return fallback?.(request) ?? new Response("not found", { status: 404 });
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** The demo server's stores. */
export interface DemoStores {
  readonly name: string;
  readonly events: EventStore;
  readonly commandLog: CommandLogStore;
  close(): Promise<void>;
}

/**
 * `memory`, `kv:PATH` or a `postgres://` URL; the default is the Deno KV file
 * `.verdict/demo-browser.kv`, so the bank outlives the server.
 */
export async function openDemoStores(choice?: string): Promise<DemoStores> {
  if (choice === "memory") {
    const commandLog = new MemoryCommandLog();
    const events = new MemoryEventStore({ commandLog });
    return { name: "memory", events, commandLog, close: () => events.close() };
  }
  if (choice?.startsWith("postgres://") || choice?.startsWith("postgresql://")) {
    const pg = openPostgresStores(choice, { schema: "bank_browser_demo", max: 4 });
    return {
      name: `PostgreSQL ${
        choice.replace(/:[^:@/]*@/, ":***@")
      } (schema bank_browser_demo)`,
      events: pg.events,
      commandLog: pg.commandLog,
      close: pg.close,
    };
  }
  if (choice === undefined || choice.startsWith("kv:")) {
    const path = choice?.slice("kv:".length) || ".verdict/demo-browser.kv";
    if (choice === undefined) await Deno.mkdir(".verdict", { recursive: true });
    const kv = await openKvStores(path, { prefix: ["bank-browser-demo"] });
    return { name: `Deno KV file ${path}`, ...kv };
  }
  throw new Error(
    `Unknown store "${choice}": use memory, kv:PATH (default kv:.verdict/demo-browser.kv) or postgres://USER:PASSWORD@HOST/DB`,
  );
}

/** The running demo: its address, its store, and a way to stop it. */
export interface DemoSite {
  readonly origin: string;
  readonly port: number;
  readonly stores: DemoStores;
  close(): Promise<void>;
}

/**
 * Bundles the offline bank and serves it with its sync server (`/sync/…`)
 * over the demo's store. Each page signs in as `?user=NAME` (default
 * `alice`): a demo's stand-in for a real session.
 */
export async function demoSite(
  port = 0,
  options: { store?: string } = {},
): Promise<DemoSite> {
  const app = await bundleForBrowser("browser/demo/app.ts");
  const page = await Deno.readTextFile(new URL("browser/demo/index.html", root));
  const stores = await openDemoStores(options.store);
  const sync = syncHandler<BankCommand>({
    bus: createBank({ store: stores.events, log: stores.commandLog }),
    store: stores.events,
    commandLog: stores.commandLog,
    basePath: "/sync",
    authenticate: (request) => {
      const user = /^Bearer (\S+)$/.exec(request.headers.get("authorization") ?? "")?.[1];
      return user ? { principal: user } : undefined;
    },
  });
  const site = serveFiles(
    {
      "/": { type: "text/html; charset=utf-8", body: page },
      "/app.js": { type: "text/javascript", body: app },
    },
    port,
    sync,
  );
  return {
    origin: site.origin,
    port: Number(new URL(site.origin).port),
    stores,
    async close() {
      // The /events streams end first, or the server would wait for them.
      sync.close();
      await site.close();
      await stores.close();
    },
  };
}
