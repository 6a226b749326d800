/**
 * The README and the getting-started guide, followed from empty directories:
 * every code block marked `<!-- quickstart: <project> <file> -->` is written
 * to `<file>` of a fresh project, and each project runs as a user's would.
 *
 * - `deno`, `guide`: a Deno project whose deno.json is what
 *   `deno add jsr:@verdict/verdict` (and `npm:zod`) writes, with this
 *   checkout linked in for JSR, which this machine cannot reach (`links`).
 * - `node`, `npm` (the npm package's own README): the npm package, packed
 *   and installed into an empty Node project (as `npm install
 *   @verdict/verdict` installs it from the registry), run by plain `node`;
 *   the PostgreSQL example with `postgres` installed beside it.
 * - `browser`: `idb` installed beside it, the block bundled by esbuild and
 *   loaded in headless Chromium from 127.0.0.1.
 *
 * A `console.log(…)` (or `textContent = …`) line that ends in `// text`
 * must print exactly that text, in order.
 *
 *   deno run -A scripts/quickstart.ts
 */
import * as esbuild from "esbuild";

const root = new URL("../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");
const sources = ["README.md", "README.node.md", "docs/getting-started.md"];

interface Block {
  readonly source: string;
  readonly file: string;
  readonly code: string;
}

/** The marked blocks of every source, by project, in order. */
async function markedBlocks(): Promise<Map<string, Block[]>> {
  const projects = new Map<string, Block[]>();
  for (const source of sources) {
    const text = await Deno.readTextFile(new URL(source, root));
    const marker = /<!-- quickstart: (\S+) (\S+) -->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;
    for (const [, project, file, code] of text.matchAll(marker)) {
      if (!projects.has(project)) projects.set(project, []);
      projects.get(project)!.push({ source, file, code });
    }
  }
  return projects;
}

/** The files of a project: blocks for one file are joined in order. */
function filesOf(blocks: readonly Block[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const block of blocks) {
    files.set(
      block.file,
      (files.has(block.file) ? files.get(block.file) + "\n" : "") + block.code,
    );
  }
  return files;
}

/** What the file's commented output lines promise, in order. */
function promised(code: string): string[] {
  return code.split("\n").flatMap((line) => {
    const match = /(?:console\.log\(|textContent = ).*\/\/ (.+)$/.exec(line);
    return match ? [match[1].trim()] : [];
  });
}

async function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(
      `\`${command} ${args.join(" ")}\` in ${cwd} ended with ${code}:\n${out}\n${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return out;
}

function checkOutput(what: string, output: string, code: string): void {
  const expected = promised(code);
  const lines = output.trim().split("\n").map((line) => line.trim());
  const printed = lines.slice(-expected.length);
  if (expected.length === 0 || JSON.stringify(printed) !== JSON.stringify(expected)) {
    throw new Error(
      `${what} printed:\n${lines.join("\n")}\nbut its comments promise:\n${
        expected.join("\n")
      }`,
    );
  }
  console.log(`✓ ${what}: ${expected.join(" | ")}`);
}

/** A Deno project as `deno add` leaves it, JSR standing in by a link. */
async function denoProject(
  files: Map<string, string>,
  extra: Record<string, string> = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "verdict-quickstart-deno-" });
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify(
      {
        imports: { "@verdict/verdict": "jsr:@verdict/verdict@^0.1.0", ...extra },
        links: [rootPath],
      },
      null,
      2,
    ),
  );
  for (const [file, code] of files) await Deno.writeTextFile(`${dir}/${file}`, code);
  return dir;
}

const projects = await markedBlocks();
const expect = (name: string) => {
  const blocks = projects.get(name);
  if (!blocks?.length) throw new Error(`No code block is marked for the ${name} project`);
  return filesOf(blocks);
};
const cleanup: string[] = [];
let skipped = 0;
try {
  // Deno: the README's quick start.
  {
    const files = expect("deno");
    const dir = await denoProject(files);
    cleanup.push(dir);
    checkOutput(
      "README, Deno quick start",
      await run(Deno.execPath(), ["run", "main.ts"], dir),
      files.get("main.ts")!,
    );
  }

  // The guide: memory, Deno KV, PostgreSQL.
  {
    const files = expect("guide");
    const dir = await denoProject(files, { zod: "npm:zod@^4.6.7" });
    cleanup.push(dir);
    await run(Deno.execPath(), ["check", ...files.keys()], dir);
    checkOutput(
      "guide, in memory",
      await run(Deno.execPath(), ["run", "main.ts"], dir),
      files.get("main.ts")!,
    );
    checkOutput(
      "guide, on Deno KV",
      await run(Deno.execPath(), [
        "run",
        "-A",
        "--unstable-kv",
        "main_kv.ts",
        `${dir}/library.kv`,
      ], dir),
      files.get("main_kv.ts")!,
    );
    const url = Deno.env.get("DATABASE_URL");
    if (url) {
      checkOutput(
        "guide, on PostgreSQL",
        await run(Deno.execPath(), ["run", "-A", "main_pg.ts"], dir, {
          DATABASE_URL: url,
        }),
        files.get("main_pg.ts")!,
      );
    } else {
      skipped++;
      console.warn(
        "\n⚠ SKIPPING the guide's PostgreSQL step: DATABASE_URL is not set.\n",
      );
    }
  }

  // Node: the packed package in an empty project, plain node.
  const node = await Deno.makeTempDir({ prefix: "verdict-quickstart-node-" });
  cleanup.push(node);
  {
    await run(
      Deno.execPath(),
      ["run", "-A", "scripts/build_npm.ts", "--no-test"],
      rootPath,
    );
    await run("npm", ["pack", "--pack-destination", node, "--silent"], `${rootPath}/npm`);
    const tarball = [...Deno.readDirSync(node)].find((e) =>
      e.name.endsWith(".tgz")
    )!.name;
    const app = `${node}/app`;
    await Deno.mkdir(app);
    await Deno.writeTextFile(
      `${app}/package.json`,
      JSON.stringify({ name: "app", private: true, type: "module" }),
    );
    await run("npm", ["install", "--no-audit", "--no-fund", `../${tarball}`], app);
    const files = expect("node");
    for (const [file, code] of files) await Deno.writeTextFile(`${app}/${file}`, code);
    checkOutput(
      `README, Node quick start (node ${(await run("node", ["--version"], app)).trim()})`,
      await run("node", ["main.mjs"], app),
      files.get("main.mjs")!,
    );

    // The npm package's own README: its quick start, and PostgreSQL.
    const packaged = await Deno.readTextFile(
      `${app}/node_modules/@verdict/verdict/README.md`,
    );
    if (packaged !== await Deno.readTextFile(new URL("README.node.md", root))) {
      throw new Error("The npm package's README is not README.node.md");
    }
    const npmFiles = expect("npm");
    for (const [file, code] of npmFiles) {
      await Deno.writeTextFile(`${app}/npm-${file}`, code);
    }
    checkOutput(
      "npm README, quick start",
      await run("node", ["npm-main.mjs"], app),
      npmFiles.get("main.mjs")!,
    );
    await run("npm", ["install", "--no-audit", "--no-fund", "@deno/kv@0.14.0"], app);
    checkOutput(
      "npm README, Deno KV in Node",
      await run("node", ["npm-kv.mjs"], app),
      npmFiles.get("kv.mjs")!,
    );
    const url = Deno.env.get("DATABASE_URL");
    if (url) {
      await run("npm", ["install", "--no-audit", "--no-fund", "postgres@3.4.9"], app);
      checkOutput(
        "npm README, PostgreSQL",
        await run("node", ["npm-pg.mjs"], app, { DATABASE_URL: url }),
        npmFiles.get("pg.mjs")!,
      );
    } else {
      skipped++;
      console.warn(
        "\n⚠ SKIPPING the npm README's PostgreSQL example: DATABASE_URL is not set.\n",
      );
    }

    // Browser: idb beside it, bundled, run in Chromium.
    const { chromiumPath, withChromium } = await import("../tests/support/chromium.ts");
    const browserFiles = expect("browser");
    const source = browserFiles.get("app.js")!;
    await run("npm", ["install", "--no-audit", "--no-fund", "idb@8.0.4"], app);
    await Deno.writeTextFile(`${app}/app.js`, source);
    await esbuild.build({
      absWorkingDir: app,
      entryPoints: ["app.js"],
      bundle: true,
      format: "esm",
      outfile: "dist/app.js",
      logLevel: "error",
    });
    await esbuild.stop();
    if (!chromiumPath) {
      skipped++;
      console.warn("\n⚠ SKIPPING the README's browser quick start: no Chromium.\n");
    } else {
      const { serveFiles } = await import("./demo_site.ts");
      const site = serveFiles({
        "/": {
          body: '<!doctype html><body><script type="module" src="/dist/app.js"></script>',
          type: "text/html",
        },
        "/dist/app.js": {
          body: await Deno.readTextFile(`${app}/dist/app.js`),
          type: "text/javascript",
        },
      });
      try {
        const text = await withChromium(async (browser) => {
          const page = await browser.newPage();
          const errors: string[] = [];
          page.on("pageerror", (error) => errors.push(String(error)));
          await page.goto(site.origin + "/");
          await page.waitForFunction(
            () => document.body.textContent !== "" || undefined,
            { polling: 100, timeout: 30_000 },
          ).catch(() => {
            throw new Error(`the page rendered nothing: ${errors.join("; ")}`);
          });
          return await page.evaluate(() => document.body.textContent ?? "");
        });
        checkOutput("README, browser quick start (Chromium)", text, source);
      } finally {
        await site.close();
      }
    }
  }
  console.log(
    `quick starts: ${
      skipped === 0 ? "all ran" : `${skipped} skipped`
    } as the README and guide say`,
  );
} finally {
  for (const dir of cleanup) await Deno.remove(dir, { recursive: true }).catch(() => {});
}
