// deno-only: it runs PgBouncer, a program of this machine.
/**
 * PgBouncer in transaction pooling mode in front of the test database, for
 * the tests of the PostgreSQL stores behind a transaction pooler: Debian's
 * `pgbouncer` (or the binary PGBOUNCER_PATH names), on 127.0.0.1, always
 * stopped. Where no PgBouncer exists, the tests say so loudly and skip.
 */
import { firstFile } from "./programs.ts";

export const pgbouncerPath: string | undefined = firstFile([
  Deno.env.get("PGBOUNCER_PATH"),
  "/usr/sbin/pgbouncer",
  "/usr/bin/pgbouncer",
]);

if (!pgbouncerPath) {
  console.warn(
    "\n⚠ SKIPPING transaction-pooler tests: no PgBouncer found (apt-get install -y pgbouncer, or set PGBOUNCER_PATH).\n",
  );
}

/** A running PgBouncer. */
export interface Pgbouncer {
  /** The URL to connect through it, with the upstream's user and password. */
  readonly url: string;
  /** Stops it and removes its files. */
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Starts PgBouncer in transaction pooling mode, its pool connecting to the
 * PostgreSQL that `upstreamUrl` names, as its user.
 */
export async function startPgbouncer(upstreamUrl: string): Promise<Pgbouncer> {
  if (!pgbouncerPath) throw new Error("no PgBouncer on this machine");
  const upstream = new URL(upstreamUrl);
  const user = decodeURIComponent(upstream.username);
  const password = decodeURIComponent(upstream.password);
  const dir = await Deno.makeTempDir({ prefix: "verdict-pgbouncer-" });
  // PgBouncer will not run as root: it drops to the postgres user, who must
  // be able to write its log and pid files here.
  const asRoot = Deno.uid() === 0;
  if (asRoot) await Deno.chmod(dir, 0o777);
  const port = freePort();
  const config = `${dir}/pgbouncer.ini`;
  await Deno.writeTextFile(
    config,
    [
      "[databases]",
      `* = host=${upstream.hostname} port=${upstream.port} user=${user} password=${password}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      // The client's password is not checked: the pool logs in as `user`.
      "auth_type = any",
      "pool_mode = transaction",
      "max_client_conn = 500",
      "default_pool_size = 20",
      `logfile = ${dir}/pgbouncer.log`,
      `pidfile = ${dir}/pgbouncer.pid`,
    ].join("\n") + "\n",
  );
  if (asRoot) await Deno.chmod(config, 0o644);
  const child = new Deno.Command(pgbouncerPath, {
    args: [...(asRoot ? ["-u", "postgres"] : []), config],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const exited = child.status;
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      child.kill("SIGINT");
    } catch { /* already gone */ }
    await exited;
    await stderr.catch(() => "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  // Ready once it accepts a connection.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      const status = await Promise.race([
        exited,
        new Promise<undefined>((resolve) => setTimeout(resolve, 50)),
      ]);
      if (status || Date.now() > deadline) {
        const log = await Deno.readTextFile(`${dir}/pgbouncer.log`).catch(() => "");
        await stop();
        throw new Error(`PgBouncer did not start: ${await stderr}${log}`);
      }
    }
  }
  const url = new URL(upstreamUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return { url: url.href, stop };
}
