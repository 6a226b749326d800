/**
 * `deno task bench:rounds sync [rounds]`: offline sync measured in real Chromium
 * against a real sync server over PostgreSQL, each figure beside its floor,
 * in alternating rounds (default 5); the result is the median of the
 * paired ratios.
 *
 * - Local dispatch while offline (strict durability): p50/p95, and the
 *   ratio to one raw `idb` put per strict transaction.
 * - 1,000 commands queued offline, then pushed and decided by the server:
 *   the time of the same 1,000 commands dispatched directly on the server's
 *   bus, divided by the sync's (1.0 = as fast as dispatching on the server).
 * - 10,000 events pulled into a new page's IndexedDB: events/s, and the
 *   ratio to the floor (the same HTTP pages fetched, their events put raw).
 */
import postgres from "postgres";
import type { Page } from "puppeteer-core";
import { openPostgresStores } from "@verdict/verdict/postgres";
import { CLIENT_CLAIMED } from "@verdict/verdict/sync";
import { type BankCommand, createBank } from "../../examples/bank.ts";
import {
  bundle,
  chromiumPath,
  serve,
  withChromium,
} from "../../tests/support/chromium.ts";
import { HttpSyncServer } from "../../tests/support/http_sync_server.ts";
import { bankServer } from "../../tests/support/sync_server.ts";
import { median, roundsArgument, time } from "./shared.ts";
import { startPostgres } from "../../tests/support/start_postgres.ts";

const rounds = roundsArgument("bench:rounds sync", 5);
if (!chromiumPath) {
  console.error(
    "bench:rounds sync needs Chromium (apt-get install -y chromium, or CHROMIUM_PATH)",
  );
  Deno.exit(1);
}

const COMMANDS = 1_000;
const PULLED = 10_000;

/** 20 accounts opened, then deposits and withdrawals spread over them. */
function commands(): BankCommand[] {
  const list: BankCommand[] = [];
  for (let i = 0; i < 20; i++) {
    list.push({
      type: "OpenAccount",
      data: { accountId: `S-${i}`, owner: `owner ${i}` },
    });
  }
  for (let i = list.length; i < COMMANDS; i++) {
    list.push(
      i % 7 === 0 && i >= 100
        ? { type: "Withdraw", data: { accountId: `S-${i % 20}`, amount: 1 } }
        : { type: "Deposit", data: { accountId: `S-${i % 20}`, amount: 3 } },
    );
  }
  return list;
}

const pg = await startPostgres();
const sql = postgres(pg.url, { max: 16, onnotice: () => {} });
let schemas = 0;
const fresh = () =>
  Promise.resolve(
    openPostgresStores(sql, { schema: `bench_sync_${Date.now()}_${schemas++}` }),
  );

const site = serve({
  "/": {
    type: "text/html",
    body:
      '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>',
  },
  "/page.js": {
    type: "text/javascript",
    body: await bundle("bench/pages/sync_bench_page.ts"),
  },
});

// deno-lint-ignore no-explicit-any
const call = (page: Page, method: string, ...args: unknown[]): Promise<any> =>
  page.evaluate(
    // deno-lint-ignore no-explicit-any
    (method, args) => (globalThis as any).syncBench[method](...args),
    method,
    args,
  );

try {
  await withChromium(async (browser) => {
    const page = await browser.newPage();
    await page.goto(site.origin);
    await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
    console.log(
      `offline sync in ${await browser.version()}, PostgreSQL ${
        pg.embedded ? "embedded" : "DATABASE_URL"
      }, ${rounds} alternating rounds`,
    );

    // 1. Local dispatch, offline.
    const dead = new HttpSyncServer(await bankServer(fresh, { basePath: "/sync" }));
    dead.start();
    const deadUrl = dead.url;
    await dead.stop();
    const local = await call(page, "localDispatch", deadUrl, rounds, 200);
    await dead.server.close();
    const sorted = [...local.dispatch].sort((a: number, b: number) => a - b);
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    console.log(
      `  local dispatch (strict durability, ${local.dispatch.length} commands, ${local.pending} queued at the end):` +
        ` p50 ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms;` +
        ` raw put per transaction p50 ${median(local.put).toFixed(2)} ms` +
        ` → ${median(local.ratios).toFixed(2)}× the floor (rounds ${fmt(local.ratios)})`,
    );

    // 2. 1,000 commands queued offline, pushed and decided, vs dispatched directly.
    const ratios: number[] = [];
    const directMs: number[] = [];
    const syncMs: number[] = [];
    const handlerMs: number[] = [];
    const handlerRatios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const runDirect = async () => {
        const stores = await fresh();
        const bus = createBank({ store: stores.events, log: stores.commandLog });
        const ms = await time(async () => {
          for (const command of commands()) {
            const result = await bus.dispatch(command, { principal: "bench" });
            if (result.status === "failed") throw result.error;
          }
        });
        await stores.close();
        return ms;
      };
      const runSync = async () => {
        const server = new HttpSyncServer(await bankServer(fresh, { basePath: "/sync" }));
        server.start();
        const url = server.url;
        await server.stop();
        const queued = await call(page, "queue", url, "bench", commands());
        if (queued !== COMMANDS) throw new Error(`queued ${queued}`);
        server.start();
        const drained = await call(page, "drain");
        await server.stop();
        const decided = (await server.server.stores.commandLog.list({ limit: 2000 }))
          .records
          .filter((record) => record.type !== CLIENT_CLAIMED);
        if (decided.length !== COMMANDS) {
          throw new Error(`server decided ${decided.length}`);
        }
        await server.server.close();
        return drained.ms as number;
      };
      // The server's part alone: the same pushes straight to the handler, no browser.
      const runHandler = async () => {
        const server = await bankServer(fresh, { basePath: "/sync" });
        const list = commands();
        const ms = await time(async () => {
          for (let start = 0; start < list.length; start += 100) {
            const response = await server.handler(
              new Request("http://127.0.0.1/sync/push", {
                method: "POST",
                headers: { authorization: "Bearer bench" },
                body: JSON.stringify({
                  protocol: 1,
                  clientId: "bench",
                  schemaVersion: 1,
                  commands: list.slice(start, start + 100).map((command, i) => ({
                    mid: start + i + 1,
                    commandId: crypto.randomUUID(),
                    ...command,
                  })),
                }),
              }),
            );
            const body = await response.json();
            if (body.results.length !== Math.min(100, list.length - start)) {
              throw new Error(`push answered ${JSON.stringify(body).slice(0, 200)}`);
            }
          }
        });
        await server.close();
        return ms;
      };
      let direct: number;
      let synced: number;
      let handled: number;
      if (round % 2 === 0) {
        direct = await runDirect();
        synced = await runSync();
        handled = await runHandler();
      } else {
        handled = await runHandler();
        synced = await runSync();
        direct = await runDirect();
      }
      directMs.push(direct);
      syncMs.push(synced);
      handlerMs.push(handled);
      ratios.push(direct / synced);
      handlerRatios.push(direct / handled);
    }
    console.log(
      `  ${COMMANDS} queued commands pushed and decided on PostgreSQL: ${
        median(syncMs).toFixed(0)
      } ms;` +
        ` dispatched directly on the server: ${median(directMs).toFixed(0)} ms` +
        ` → sync runs at ${median(ratios).toFixed(2)}× direct dispatch (rounds ${
          fmt(ratios)
        })`,
    );
    console.log(
      `    the server's part alone (the same 10 pushes straight to the handler, no browser):` +
        ` ${median(handlerMs).toFixed(0)} ms → ${
          median(handlerRatios).toFixed(2)
        }× direct dispatch (rounds ${fmt(handlerRatios)})`,
    );

    // 3. A 10,000-event pull into a new page's IndexedDB.
    const server = new HttpSyncServer(await bankServer(fresh, { basePath: "/sync" }));
    const streams = 100;
    for (let s = 0; s < streams; s++) {
      await server.server.stores.events.appendToStream(
        `account-P-${s}`,
        Array.from(
          { length: PULLED / streams },
          (_, i) =>
            i === 0
              ? { type: "AccountOpened", data: { accountId: `P-${s}`, owner: "p" } }
              : { type: "MoneyDeposited", data: { accountId: `P-${s}`, amount: i } },
        ),
      );
    }
    server.start();
    const pulls: number[] = [];
    const floors: number[] = [];
    const pullRatios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const first = round % 2 === 0 ? "pull" : "rawPull";
      const second = first === "pull" ? "rawPull" : "pull";
      const a = await call(page, first, server.url, "bench");
      const b = await call(page, second, server.url, "bench");
      const [mine, floor] = first === "pull" ? [a, b] : [b, a];
      if (mine.events !== PULLED || floor.events !== PULLED) {
        throw new Error(`pulled ${mine.events} and ${floor.events} of ${PULLED}`);
      }
      pulls.push(mine.ms);
      floors.push(floor.ms);
      pullRatios.push(floor.ms / mine.ms);
    }
    await server.stop();
    await server.server.close();
    console.log(
      `  ${PULLED.toLocaleString("en")}-event pull into IndexedDB: ${
        median(pulls).toFixed(0)
      } ms` +
        ` (${
          Math.round(PULLED / (median(pulls) / 1000)).toLocaleString("en")
        } events/s);` +
        ` floor (same pages, raw puts) ${median(floors).toFixed(0)} ms` +
        ` → ${median(pullRatios).toFixed(2)}× the floor's speed (rounds ${
          fmt(pullRatios)
        })`,
    );
  });
} finally {
  await site.close();
  await sql.end();
  await pg.stop();
}

function fmt(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${sorted[0].toFixed(2)}–${sorted.at(-1)!.toFixed(2)}`;
}
