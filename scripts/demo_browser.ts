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
import { demoSite } from "./demo_site.ts";

const at = Deno.args.indexOf("--store");
const store =
  Deno.args.find((arg) => arg.startsWith("--store="))?.slice("--store=".length) ??
    (at >= 0 ? Deno.args[at + 1] : undefined);
const port = Number(Deno.env.get("PORT") ?? 8000);
const site = await demoSite(port, { store });
console.log(
  `verdict offline bank: ${site.origin}  (store: ${site.stores.name}; Ctrl-C to stop)`,
);
Deno.addSignalListener("SIGINT", async () => {
  await site.close();
  Deno.exit(0);
});
