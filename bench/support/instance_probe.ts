/**
 * One app instance for `deno task bench:rounds postgres-instances`: a bus
 * with the bank's cached account handler (`coherentCache` when the third
 * argument is "coherent") on its own pool, `WORKERS` workers depositing into
 * random accounts of `STREAMS`. Prints "ready" once set up, starts on a line
 * on stdin, and prints one JSON line: commands, conflicts and milliseconds.
 *
 * Arguments: database URL, schema, "coherent" | "plain", commands per worker.
 */
import { CommandBus, deciderHandler, StateCache } from "@verdict/verdict";
import { PostgresEventStore } from "@verdict/verdict/postgres";
import postgres from "postgres";
import {
  type Account,
  accountDefinition,
  type BankCommand,
} from "../../examples/bank.ts";

const [url, schema, mode, perWorker] = Deno.args;
const WORKERS = 8;
export const STREAMS = 200;
const COMMANDS = Number(perWorker);

const sql = postgres(url, { max: WORKERS, onnotice: () => {} });
const store = new PostgresEventStore(sql, { schema, ownsSql: true });
let conflicts = 0;
const handler = deciderHandler({
  ...accountDefinition,
  store,
  cache: new StateCache<Account>(),
  coherentCache: mode === "coherent",
  onConflict: () => conflicts++,
  retry: { maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 20 },
});
const bus = new CommandBus<BankCommand>().register("Deposit", handler);
const deposit = (): BankCommand => ({
  type: "Deposit",
  data: { accountId: `a${Math.floor(Math.random() * STREAMS)}`, amount: 1 },
});
// Warm: every account cached, a statement prepared on every connection.
for (let i = 0; i < STREAMS; i += WORKERS) {
  await Promise.all(
    Array.from(
      { length: WORKERS },
      (_, w) =>
        bus.dispatch({ type: "Deposit", data: { accountId: `a${i + w}`, amount: 1 } }),
    ),
  );
}
conflicts = 0;
console.log("ready");
const reader = Deno.stdin.readable.getReader();
await reader.read();
const start = performance.now();
let failed = 0;
await Promise.all(
  Array.from({ length: WORKERS }, async () => {
    for (let k = 0; k < COMMANDS; k++) {
      if ((await bus.dispatch(deposit())).status !== "accepted") failed++;
    }
  }),
);
const ms = performance.now() - start;
console.log(JSON.stringify({ commands: WORKERS * COMMANDS, conflicts, failed, ms }));
reader.releaseLock();
await store.close();
