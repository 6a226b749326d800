/**
 * A sync server for the tests: the bank over a real store (memory or
 * PostgreSQL in a fresh schema here; Deno KV in tests/sync_kv_test.ts),
 * behind `syncHandler`,
 * and a `fetch` for clients in the same process that can be cut off, lose
 * an answer after the server committed, or fail pushes only.
 */
import type { CommandLogStore, EventStore } from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { openPostgresStores } from "@verdict/verdict/postgres";
import {
  type SyncHandler,
  syncHandler,
  type SyncHandlerOptions,
  type SyncPrincipal,
} from "@verdict/verdict/sync";
import { type BankCommand, createBank } from "../../examples/bank.ts";
import { type TestDatabase, testDatabase } from "./postgres.ts";
import { comparable } from "./sync_events.ts";

export interface ServerStores {
  readonly events: EventStore;
  readonly commandLog: CommandLogStore;
  close(): Promise<void>;
}

/** Opens an empty store of one kind each time it is called. */
export type StoreFactory = () => Promise<ServerStores>;

export function memoryStores(): StoreFactory {
  return () => {
    const commandLog = new MemoryCommandLog();
    const events = new MemoryEventStore({ commandLog });
    return Promise.resolve({
      events,
      commandLog,
      close: async () => {
        await events.close();
        await commandLog.close();
      },
    });
  };
}

export function postgresStores(database: TestDatabase): StoreFactory {
  return () =>
    Promise.resolve(openPostgresStores(database.sql, { schema: database.schema() }));
}

/** Who a request is from: `authorization: Bearer <user>` (tenant after a colon). */
export function bearer(request: Request): SyncPrincipal | undefined {
  const match = /^Bearer ([^:]+)(?::(.+))?$/.exec(
    request.headers.get("authorization") ?? "",
  );
  return match ? { principal: match[1], tenantId: match[2] } : undefined;
}

export interface TestServer {
  stores: ServerStores;
  handler: SyncHandler;
  /** Ends the handler (and its /events streams) and makes a new one on the same store. */
  renew(): void;
  /** Replaces the store with an empty one (a wiped server). */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

/** The bank behind a sync handler on a fresh store from `open`. */
export async function bankServer(
  open: StoreFactory,
  options: Partial<SyncHandlerOptions<BankCommand>> = {},
): Promise<TestServer> {
  const handlerOn = (stores: ServerStores) =>
    syncHandler<BankCommand>({
      bus: createBank({ store: stores.events, log: stores.commandLog }),
      store: stores.events,
      commandLog: stores.commandLog,
      authenticate: bearer,
      onError: () => {},
      ...options,
    });
  const stores = await open();
  const server = { stores, handler: handlerOn(stores) } as TestServer;
  server.renew = () => {
    server.handler.close();
    server.handler = handlerOn(server.stores);
  };
  server.wipe = async () => {
    server.handler.close();
    await server.stores.close();
    server.stores = await open();
    server.handler = handlerOn(server.stores);
  };
  server.close = async () => {
    server.handler.close();
    await server.stores.close();
  };
  return server;
}

/** A network between in-process clients and a server. */
export interface TestNetwork {
  /** False: every request fails as a refused connection does. */
  up: boolean;
  /** False: pushes fail (the server is not reached); pulls go through. */
  pushes: boolean;
  /** This many pushes reach the server and commit, and their answers are lost. */
  loseAnswers: number;
  /** Pushes that reached the server. */
  pushed: number;
  /** Results the server answered as duplicates (decided by an earlier push). */
  duplicates: number;
  readonly fetch: typeof fetch;
}

export function network(server: () => SyncHandler): TestNetwork {
  const net: TestNetwork = {
    up: true,
    pushes: true,
    loseAnswers: 0,
    pushed: 0,
    duplicates: 0,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const isPush = new URL(request.url).pathname.endsWith("/push");
      if (!net.up || (isPush && !net.pushes)) {
        throw new TypeError("error sending request: Connection refused");
      }
      const response = await server()(request);
      if (isPush) {
        net.pushed++;
        if (response.ok) {
          const body = await response.clone().json() as {
            results: { duplicate: boolean }[];
          };
          net.duplicates += body.results.filter((result) => result.duplicate).length;
        }
      }
      if (isPush && net.loseAnswers > 0) {
        net.loseAnswers--;
        await response.body?.cancel();
        throw new TypeError("error reading a body from connection: connection reset");
      }
      return response;
    },
  };
  return net;
}

/** The server's events, every one, as the sync tests compare them. */
export async function serverEvents(server: TestServer): Promise<unknown[]> {
  const events: unknown[] = [];
  for (let after = 0;;) {
    const page = await server.stores.events.readAll({ after, limit: 1000 });
    if (page.length === 0) return events;
    events.push(...page.map(comparable));
    after = page[page.length - 1].position;
  }
}

/**
 * Registers `cases` as two tests, "{title} over the memory store" and
 * "{title} over PostgreSQL" (skipped, saying so, where there is none).
 */
export async function onMemoryAndPostgres(
  title: string,
  cases: (open: StoreFactory) => (t: Deno.TestContext) => Promise<void>,
): Promise<void> {
  Deno.test({
    name: `${title} over the memory store`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: cases(memoryStores()),
  });
  const database = await testDatabase();
  Deno.test({
    name: `${title} over PostgreSQL`,
    ignore: database === undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      try {
        await cases(postgresStores(database!))(t);
      } finally {
        await database!.close();
      }
    },
  });
}
