/**
 * `deno task demo:browser [--store memory | kv:PATH | postgres://…]`: the
 * offline bank on http://127.0.0.1:8000 (PORT to change) with its sync
 * server over the demo's store (default: the Deno KV file
 * .verdict/demo-browser.kv). Everything is decided in the page, on
 * IndexedDB, and pushed to the server when it can be reached: stop the
 * server, keep working, start it again, and watch the commands sync — with
 * the server's verdict, accepted or refused with the reason. Open
 * `?user=bob` in a second window for a second client.
 */
import { demoArgsOrExit, firstLine } from "./demo_args.ts";
import { type DemoSite, demoSite } from "./demo_site.ts";

const { store } = demoArgsOrExit("demo:browser", ".verdict/demo-browser.kv");
const port = Number(Deno.env.get("PORT") ?? 8000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `demo:browser: PORT must be a port number, got "${Deno.env.get("PORT")}"`,
  );
  Deno.exit(2);
}
let site: DemoSite;
try {
  site = await demoSite(port, { store });
  // The first read reaches the store: a bad path or an unreachable server fails here.
  await site.stores.events.readAll({ limit: 1 });
} catch (error) {
  console.error(`demo:browser: cannot start: ${firstLine(error)}`);
  Deno.exit(2);
}
console.log(
  `verdict offline bank: ${site.origin}  (store: ${site.stores.name}; Ctrl-C to stop)`,
);
Deno.addSignalListener("SIGINT", async () => {
  await site.close();
  Deno.exit(0);
});
