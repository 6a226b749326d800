/**
 * `deno task build:npm`: builds the npm package in `npm/` and proves it under
 * Node.
 *
 * 1. Compiles every published module with `npm:typescript` (the version
 *    inside our Deno) to ESM, rewriting relative `.ts` imports to `.js`, and
 *    emits `.d.ts` per file (the code has explicit types on every export, as
 *    JSR requires, so declarations need no whole-program check).
 * 2. Writes `npm/package.json` from `deno.json`: exports mirroring deno.json
 *    with `types` and `default` conditions, optional peer dependencies from
 *    the `npm:` imports the package really uses; copies README.node.md (as README.md),
 *    LICENSE and docs/. The build
 *    fails when the two exports maps differ.
 * 3. Compiles the test suites too (`npm/test/`, not published), installs
 *    the dependencies with npm, and runs the tests with Node's test runner
 *    (a small shim maps `Deno.test` and `t.step` to `node:test`).
 * 4. Imports every subpath from a Node ESM script and type-checks a
 *    TypeScript consumer with `moduleResolution` `nodenext` and `bundler`.
 * 5. Installs the packed tarball into an empty Node project: none of the
 *    optional peer dependencies (postgres, idb, dexie, cbor-x) comes with
 *    it, and a memory-only quick start runs in plain Node.
 *
 *   deno task build:npm            build and test
 *   deno task build:npm --no-test  build only
 */

import ts from "typescript";

const root = new URL("../", import.meta.url);
const out = new URL("npm/", root);
const path = (url: URL) => decodeURIComponent(url.pathname);

interface DenoConfig {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
  publish: { include: string[] };
}

const config: DenoConfig = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
);

/**
 * Subpaths that only run on Deno: left out of the npm package, and so are the
 * tests that use them. None now: `./kv` runs in Node on the `@deno/kv`
 * package.
 */
const DENO_ONLY: Record<string, string> = {};
const npmExports = Object.fromEntries(
  Object.entries(config.exports).filter(([key]) => !(key in DENO_ONLY)),
);
const denoOnlyDirs = Object.entries(config.exports)
  .filter(([key]) => key in DENO_ONLY)
  .map(([, target]) => target.slice(2, target.lastIndexOf("/") + 1));
const isDenoOnly = (file: string) => denoOnlyDirs.some((dir) => file.startsWith(dir));

/** Every .ts file under the given folders (relative to the root), tests excluded. */
async function sources(folders: readonly string[], withTests = false): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string) {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      const rel = dir === "." ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(rel);
      else if (
        entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") &&
        (withTests || !entry.name.endsWith("_test.ts"))
      ) found.push(rel);
    }
  }
  for (const folder of folders) {
    if (folder.endsWith(".ts")) found.push(folder);
    else await walk(folder);
  }
  return found.sort();
}

const RELATIVE_TS = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g;

/** Compiles one module to `.js` (and `.d.ts` when asked) under `outDir`. */
async function compile(
  file: string,
  outDir: URL,
  declarations: boolean,
): Promise<string[]> {
  const source = await Deno.readTextFile(new URL(file, root));
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    target: ts.ScriptTarget.ES2022,
    rewriteRelativeImportExtensions: true,
    declaration: true,
  };
  const js = ts.transpileModule(source, { compilerOptions: options, fileName: file });
  const target = new URL(file.replace(/\.ts$/, ".js"), outDir);
  await Deno.mkdir(new URL(".", target), { recursive: true });
  await Deno.writeTextFile(target, js.outputText);
  const problems = (js.diagnostics ?? []).map((d) =>
    `${file}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
  );
  if (declarations) {
    const dts = ts.transpileDeclaration(source, {
      compilerOptions: options,
      fileName: file,
    });
    problems.push(
      ...(dts.diagnostics ?? []).map((d) =>
        `${file}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`
      ),
    );
    await Deno.writeTextFile(
      new URL(file.replace(/\.ts$/, ".d.ts"), outDir),
      dts.outputText.replace(RELATIVE_TS, "$1$2.js$3"),
    );
  }
  return problems;
}

/** Bare specifiers (npm packages) a compiled file imports. */
function bareImports(code: string): string[] {
  const found = new Set<string>();
  for (
    const { fileName: specifier } of ts.preProcessFile(code, true, true).importedFiles
  ) {
    if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
    const parts = specifier.split("/");
    found.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
  }
  return [...found];
}

function npmVersion(name: string): string {
  const mapped = config.imports[name];
  const match = mapped?.match(/^npm:(@?[^@]+)@(.+)$/);
  if (!match) throw new Error(`deno.json imports has no pinned npm: entry for "${name}"`);
  return match[2];
}

async function run(command: string, args: string[], cwd: URL): Promise<void> {
  console.log(`   $ ${command} ${args.join(" ")}`);
  const { code } = await new Deno.Command(command, {
    args,
    cwd: path(cwd),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`${command} ${args[0] ?? ""} exited with ${code}`);
}

// 1. The library.
await Deno.remove(out, { recursive: true }).catch(() => {});
const library = (await sources(
  config.publish.include.filter((p) => p.endsWith(".ts") || p.endsWith("/**/*.ts"))
    .map((p) => p.replace("/**/*.ts", "")),
)).filter((file) => !isDenoOnly(file));
console.log(`Compiling ${library.length} modules with TypeScript ${ts.version}`);
const problems: string[] = [];
for (const file of library) problems.push(...await compile(file, out, true));
if (problems.length > 0) {
  throw new Error(`TypeScript reported problems:\n${problems.join("\n")}`);
}

// 2. package.json, README, LICENSE.
const dependencies: Record<string, string> = {};
for (const file of library) {
  const code = await Deno.readTextFile(new URL(file.replace(/\.ts$/, ".js"), out));
  for (const name of bareImports(code)) {
    if (name === config.name) continue;
    dependencies[name] = npmVersion(name);
  }
}
// Imported by a name given at run time (so Deno never fetches it): Deno KV
// for Node, used by `./kv` outside Deno.
dependencies["@deno/kv"] = npmVersion("@deno/kv");
const exportsMap: Record<string, { types: string; default: string }> = {};
for (const [key, target] of Object.entries(npmExports)) {
  const base = target.replace(/\.ts$/, "");
  exportsMap[key] = { types: `${base}.d.ts`, default: `${base}.js` };
}
const manifest = {
  name: config.name,
  version: config.version,
  description:
    "Event sourcing for TypeScript: deciders, a command bus with middleware, a command audit trail, and stores that pass one contract.",
  license: config.license,
  type: "module",
  sideEffects: false,
  engines: { node: ">=20" },
  exports: exportsMap,
  files: ["**/*.js", "**/*.d.ts", "!test/**", "README.md", "LICENSE", "docs/**/*.md"],
  // Each is used by one store or codec only: an app installs the ones its
  // subpaths need (`npm i postgres` for `/postgres`), and a memory-only
  // install pulls nothing.
  peerDependencies: dependencies,
  peerDependenciesMeta: Object.fromEntries(
    Object.keys(dependencies).map((name) => [name, { optional: true }]),
  ),
};
await Deno.writeTextFile(
  new URL("package.json", out),
  JSON.stringify(manifest, null, 2) + "\n",
);
// npm gets the Node-first README (its JavaScript runs under plain Node), and
// the guides it points to.
await Deno.copyFile(new URL("README.node.md", root), new URL("README.md", out));
await Deno.copyFile(new URL("LICENSE", root), new URL("LICENSE", out));
for (const dir of ["docs", "docs/stores"]) {
  await Deno.mkdir(new URL(`${dir}/`, out), { recursive: true });
  for (const entry of Deno.readDirSync(new URL(`${dir}/`, root))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      await Deno.copyFile(
        new URL(`${dir}/${entry.name}`, root),
        new URL(`${dir}/${entry.name}`, out),
      );
    }
  }
}

const written = JSON.parse(await Deno.readTextFile(new URL("package.json", out)));
const denoKeys = Object.keys(npmExports).sort();
const npmKeys = Object.keys(written.exports).sort();
if (JSON.stringify(denoKeys) !== JSON.stringify(npmKeys)) {
  throw new Error(`exports differ: deno.json ${denoKeys} vs package.json ${npmKeys}`);
}
for (const key of denoKeys) {
  const expected = npmExports[key].replace(/\.ts$/, ".js");
  if (written.exports[key].default !== expected) {
    throw new Error(`export "${key}": package.json has ${written.exports[key].default}`);
  }
  await Deno.stat(new URL(expected, out)).catch(() => {
    throw new Error(`export "${key}" points at ${expected}, which was not built`);
  });
}
const left = Object.entries(DENO_ONLY).map(([key, why]) => `${key} (${why})`);
console.log(
  `Wrote npm/package.json: ${npmKeys.length} exports, ${
    left.length ? `deno.json's but for the Deno-only ${left.join(", ")}` : "deno.json's"
  }; optional peer dependencies ${JSON.stringify(dependencies)}`,
);

if (Deno.args.includes("--no-test")) Deno.exit(0);

// 3. The tests, under Node.
const testOut = new URL("test/", out);
// Tests of Deno-only subpaths stay on Deno.
const testFiles: string[] = [];
for (const file of await sources(["tests", "examples"], true)) {
  const source = await Deno.readTextFile(new URL(file, root));
  const usesDenoOnly = /^\/\/ deno-only:/m.test(source) ||
    Object.keys(DENO_ONLY).some((key) =>
      source.includes(`"${config.name}/${key.slice(2)}"`)
    );
  if (!usesDenoOnly) testFiles.push(file);
}
for (const file of testFiles) problems.push(...await compile(file, testOut, false));
if (problems.length > 0) throw new Error(problems.join("\n"));
await Deno.writeTextFile(
  new URL("deno_shim.js", testOut),
  await Deno.readTextFile(new URL("tests/node/deno_shim.js", root)),
);
const testDependencies = bareImports(
  (await Promise.all(
    testFiles.map((f) => Deno.readTextFile(new URL(f.replace(/\.ts$/, ".js"), testOut))),
  )).join("\n"),
).filter((name) => name !== config.name && !(name in dependencies));
// The tests use every store: the optional peers too.
await run("npm", [
  "install",
  "--no-save",
  "--no-package-lock",
  "--no-audit",
  "--no-fund",
  ...[...Object.keys(dependencies), ...testDependencies].map((name) =>
    `${name}@${npmVersion(name)}`
  ),
], out);

const nodeTests = testFiles
  .filter((f) => f.endsWith("_test.ts") && !f.startsWith("tests/node/"))
  .map((f) => `test/${f.replace(/\.ts$/, ".js")}`);
// The spec reporter ends with the failing tests and their errors (TAP, the
// default when output is not a terminal, leaves them where they happened).
await run(
  "node",
  ["--import", "./test/deno_shim.js", "--test", "--test-reporter=spec", ...nodeTests],
  out,
);

// 4. Consumers: every subpath from Node ESM, and from TypeScript.
const consumer = new URL("test/consumer/", out);
await Deno.mkdir(new URL("node_modules/@verdict/", consumer), { recursive: true });
await Deno.symlink(path(out), path(new URL("node_modules/@verdict/verdict", consumer)));
const subpaths = Object.keys(npmExports).map((key) =>
  key === "." ? config.name : `${config.name}/${key.slice(2)}`
);
await Deno.writeTextFile(
  new URL("import_all.mjs", consumer),
  subpaths.map((s, i) => `import * as m${i} from "${s}";`).join("\n") +
    `\nconst modules = [${subpaths.map((_, i) => `m${i}`).join(", ")}];\n` +
    `for (const [i, m] of modules.entries()) {\n` +
    `  if (Object.keys(m).length === 0) throw new Error("empty module " + i);\n}\n` +
    `console.log("node imported ${subpaths.length} subpaths: ${subpaths.join(", ")}");\n`,
);
await run("node", ["import_all.mjs"], consumer);
for (const subpath of subpaths) {
  await run("node", [
    "-e",
    `import("${subpath}").then((m) => { if (!Object.keys(m).length) process.exit(1); })`,
  ], consumer);
}

await Deno.writeTextFile(
  new URL("consumer.ts", consumer),
  await Deno.readTextFile(new URL("tests/node/consumer.ts", root)),
);
for (const moduleResolution of ["nodenext", "bundler"] as const) {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    module: moduleResolution === "nodenext"
      ? ts.ModuleKind.NodeNext
      : ts.ModuleKind.ESNext,
    moduleResolution: moduleResolution === "nodenext"
      ? ts.ModuleResolutionKind.NodeNext
      : ts.ModuleResolutionKind.Bundler,
  };
  await Deno.writeTextFile(
    new URL("package.json", consumer),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  const program = ts.createProgram([path(new URL("consumer.ts", consumer))], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    throw new Error(
      `The TypeScript consumer (${moduleResolution}) does not type-check:\n` +
        ts.formatDiagnostics(diagnostics, {
          getCanonicalFileName: (f) => f,
          getCurrentDirectory: () => path(consumer),
          getNewLine: () => "\n",
        }),
    );
  }
  console.log(
    `TypeScript consumer type-checks with moduleResolution "${moduleResolution}"`,
  );
}

// 5. The packed tarball in an empty Node project: installs none of the
// optional peers, and the memory quick start runs in plain Node.
const empty = await Deno.makeTempDir({ prefix: "verdict-npm-empty-" });
try {
  await run("npm", ["pack", "--pack-destination", empty, "--silent"], out);
  const tarball = [...Deno.readDirSync(empty)].find((e) => e.name.endsWith(".tgz"))!.name;
  const project = `${empty}/app`;
  await Deno.mkdir(project);
  await Deno.writeTextFile(
    `${project}/package.json`,
    JSON.stringify({ name: "app", private: true, type: "module" }),
  );
  await run("npm", [
    "install",
    "--no-audit",
    "--no-fund",
    "--no-package-lock",
    `../${tarball}`,
  ], new URL(`file://${project}/`));
  const installed = [...Deno.readDirSync(`${project}/node_modules`)]
    .map((e) => e.name)
    .filter((name) => !name.startsWith("."));
  const pulled = Object.keys(dependencies).filter((name) => installed.includes(name));
  if (pulled.length > 0) {
    throw new Error(
      `npm i of the tarball installed optional peers: ${pulled.join(", ")}`,
    );
  }
  await Deno.writeTextFile(
    `${project}/quick_start.mjs`,
    `import { CommandBus, deciderHandler } from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
const store = new MemoryEventStore();
const bus = new CommandBus().register("Ping", deciderHandler({
  decider: { initialState: () => 0, decide: () => [{ type: "Pinged", data: null }], evolve: (n) => n + 1 },
  store,
  streamId: () => "pings",
}));
const result = await bus.dispatch({ type: "Ping", data: null });
if (result.status !== "accepted") throw new Error(result.status);
console.log("quick start in an empty Node project: " + result.status);
`,
  );
  await run("node", ["quick_start.mjs"], new URL(`file://${project}/`));
  console.log(
    `npm i of the tarball installs ${installed.join(", ")}: none of ${
      Object.keys(dependencies).join(", ")
    }`,
  );
} finally {
  await Deno.remove(empty, { recursive: true });
}
