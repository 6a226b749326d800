// The page of `deno task bench:rounds sync`: SyncClient in real Chromium, each
// figure beside its raw floor, driven through `window.syncBench`.
import { openDB } from "idb";
import { SyncClient } from "@verdict/verdict/browser";
import { type BankCommand, bankDefinitions } from "../../examples/bank.ts";

const HOUR = 3_600_000;
let opened = 0;

async function client(url: string, user: string): Promise<SyncClient> {
  const sync = await SyncClient.open({
    name: `bench-${Date.now()}-${opened++}`,
    url,
    headers: () => ({ authorization: `Bearer ${user}` }),
    leader: "always",
    listen: false,
    durability: "strict",
    // Rounds run when the bench asks, never on a timer.
    pollIntervalMs: HOUR,
    retryDelayMs: { min: HOUR, max: HOUR },
  });
  sync.registerAll(bankDefinitions);
  return sync;
}

/** A raw floor: one `put` per strict readwrite transaction. */
async function rawStore(name: string) {
  const db = await openDB(name, 1, {
    upgrade(db) {
      db.createObjectStore("rows", { autoIncrement: true });
    },
  });
  return db;
}

const api = {
  /**
   * Local dispatch while offline (the server unreachable): `rounds` of
   * `perRound` Deposits on 50 accounts, each round beside `perRound` raw
   * puts, one per strict transaction. Returns every sample, in ms.
   */
  async localDispatch(deadUrl: string, rounds: number, perRound: number) {
    const sync = await client(deadUrl, "bench");
    for (let i = 0; i < 50; i++) {
      await sync.dispatch({
        type: "OpenAccount",
        data: { accountId: `B-${i}`, owner: "b" },
      });
    }
    const raw = await rawStore(`bench-raw-${Date.now()}`);
    const dispatch: number[] = [];
    const put: number[] = [];
    const ratios: number[] = [];
    let n = 0;
    for (let round = 0; round < rounds; round++) {
      const mine: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const command: BankCommand = {
          type: "Deposit",
          data: { accountId: `B-${n++ % 50}`, amount: 1 },
        };
        const start = performance.now();
        await sync.dispatch(command);
        mine.push(performance.now() - start);
      }
      for (let i = 0; i < perRound; i++) {
        const start = performance.now();
        const tx = raw.transaction("rows", "readwrite", { durability: "strict" });
        await tx.store.put({
          type: "Deposit",
          data: { accountId: `B-${i % 50}`, amount: 1 },
        });
        await tx.done;
        floor.push(performance.now() - start);
      }
      dispatch.push(...mine);
      put.push(...floor);
      ratios.push(median(mine) / median(floor));
    }
    const pending = (await sync.pending()).length;
    raw.close();
    await sync.close();
    return { dispatch, put, ratios, pending };
  },

  /** Queues the commands in a new client while the server is down; resolves once journalled. */
  async queue(url: string, user: string, commands: BankCommand[]): Promise<number> {
    const sync = await client(url, user);
    for (const command of commands) {
      const result = await sync.dispatch(command);
      if (result.status !== "pending") {
        throw new Error(`not queued: ${JSON.stringify(result)}`);
      }
    }
    queued = sync;
    return (await sync.pending()).length;
  },

  /** Syncs the queued client until nothing is pending; the time it took, in ms. */
  async drain(): Promise<{ ms: number; accepted: number; pending: number }> {
    const sync = queued!;
    const start = performance.now();
    while ((await sync.pending()).length > 0) {
      await sync.sync();
      if (sync.status !== "online") throw new Error(`sync ${sync.status}`);
    }
    const ms = performance.now() - start;
    const accepted = (await sync.outcomes()).filter((o) => o.state === "accepted").length;
    await sync.close();
    queued = undefined;
    return { ms, accepted, pending: 0 };
  },

  /** A new client pulls everything the server has; the time, in ms, and the events held. */
  async pull(url: string, user: string): Promise<{ ms: number; events: number }> {
    const sync = await client(url, user);
    const start = performance.now();
    await sync.sync();
    const ms = performance.now() - start;
    const events = (await sync.readAll()).length;
    await sync.close();
    return { ms, events };
  },

  /**
   * The floor of a pull: the same HTTP pages fetched and parsed, their
   * events put into a plain object store, one strict transaction a page.
   */
  async rawPull(url: string, user: string): Promise<{ ms: number; events: number }> {
    const db = await openDB(`bench-rawpull-${Date.now()}-${opened++}`, 1, {
      upgrade(db) {
        db.createObjectStore("events", { keyPath: "position" });
      },
    });
    const start = performance.now();
    let cursor = 0;
    let events = 0;
    for (;;) {
      const response = await fetch(`${url}/pull?cursor=${cursor}`, {
        headers: { authorization: `Bearer ${user}` },
      });
      const page = await response.json() as {
        events: { position: number }[];
        cursor: number;
        more: boolean;
      };
      const tx = db.transaction("events", "readwrite", { durability: "strict" });
      for (const event of page.events) void tx.store.put(event);
      await tx.done;
      events += page.events.length;
      cursor = page.cursor;
      if (!page.more) break;
    }
    const ms = performance.now() - start;
    db.close();
    return { ms, events };
  },
};

let queued: SyncClient | undefined;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

(globalThis as unknown as { syncBench: typeof api }).syncBench = api;
document.body.dataset.ready = "true";
