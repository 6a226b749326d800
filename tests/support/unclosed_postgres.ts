/**
 * A script that uses PostgreSQL stores and never closes them, for the test
 * that an idle pool does not keep a process alive while a wait does.
 *
 *   deno run -A tests/support/unclosed_postgres.ts <url> <schema> append|wait
 *
 * `append` writes one event and ends its work. `wait` prints "waiting", then
 * waits for an event after the current head and prints "woken" when one
 * arrives (the test appends it from outside).
 */
import { openPostgresStores } from "@verdict/verdict/postgres";

const [url, schema, mode] = Deno.args;
const stores = openPostgresStores(url, { schema });
await stores.events.appendToStream(`unclosed-${mode}`, [{ type: "Started", data: {} }]);
if (mode === "wait") {
  const head = (await stores.events.readAll()).at(-1)!.position;
  console.log("waiting");
  await stores.events.waitForEvents(head, new AbortController().signal);
  console.log("woken");
} else {
  console.log("appended");
}
// No stores.close(): the process must still end, and only once its work is done.
