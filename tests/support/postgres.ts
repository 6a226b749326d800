/**
 * A PostgreSQL for the tests: the one `DATABASE_URL` names (`deno task test`
 * starts one and sets it), or else an embedded server this test file starts
 * and stops itself. Where neither is possible, the tests say so loudly and
 * skip.
 */
import postgres, { type Sql } from "postgres";

export interface TestDatabase {
  readonly url: string;
  /** A pool of 16 connections, as the suites ask for. */
  readonly sql: Sql;
  /** A fresh schema name for one case. */
  schema(): string;
  close(): Promise<void>;
}

let counter = 0;

export async function testDatabase(): Promise<TestDatabase | undefined> {
  let url = Deno.env.get("DATABASE_URL");
  let stop = async () => {};
  if (!url) {
    if (typeof (Deno as { openKv?: unknown }).openKv !== "function") {
      console.warn(
        "\n⚠ SKIPPING PostgreSQL tests: DATABASE_URL is not set (run `deno task test`).\n",
      );
      return undefined;
    }
    try {
      const { startPostgres } = await import("./start_postgres.ts");
      const server = await startPostgres();
      url = server.url;
      stop = server.stop;
      // A run filtered past the closing test still stops it on the way out.
      globalThis.addEventListener("unload", () => server.stopSync());
    } catch (error) {
      console.warn(
        `\n⚠ SKIPPING PostgreSQL tests: no DATABASE_URL and the embedded server did not start: ${
          error instanceof Error ? error.message.split("\n")[0] : error
        }\n`,
      );
      return undefined;
    }
  }
  const sql = postgres(url, { max: 16, onnotice: () => {} });
  const run = `${Date.now().toString(36)}_${
    Math.floor(Math.random() * 1e6).toString(36)
  }`;
  return {
    url,
    sql,
    schema: () => `t_${run}_${counter++}`,
    async close() {
      await sql.end();
      await stop();
    },
  };
}
