/**
 * `deno task demo:browser`: bundles the offline bank (browser/demo/) with
 * esbuild and serves it on http://127.0.0.1:8000 (PORT to change). Everything
 * runs in the page, on IndexedDB: stop the server after loading and it keeps
 * working.
 */
import { demoSite } from "./demo_site.ts";

const port = Number(Deno.env.get("PORT") ?? 8000);
const site = await demoSite(port);
console.log(`verdict offline bank: ${site.origin}  (Ctrl-C to stop)`);
Deno.addSignalListener("SIGINT", async () => {
  await site.close();
  Deno.exit(0);
});
