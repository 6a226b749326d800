/**
 * The module graph of every entry point has no import cycle (type imports
 * included), and no folder imports one above it in the layering:
 *
 *   mod.ts, src/     the core (src/store_kit/ included): imports only the core
 *   codecs/          the core
 *   stores/<name>/   the core and its own folder: stores never import each other
 *   browser/         the core, stores/indexeddb/, its own folder
 *   stores/dexie/    as a store, and browser/ (it keeps SyncClient's views)
 *
 *   deno run -A scripts/import_check.ts
 */
const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
const entries: string[] = Object.values(config.exports);

interface Dependency {
  code?: { specifier?: string };
  type?: { specifier?: string };
}
interface Graph {
  modules: { specifier: string; dependencies?: Dependency[] }[];
}
// `deno info` takes one root: one graph per entry point, merged.
const graphs: Graph[] = [];
for (const entry of entries) {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!success) Deno.exit(1);
  graphs.push(JSON.parse(new TextDecoder().decode(stdout)));
}
const rel = (specifier: string) =>
  specifier.startsWith(root.href) ? specifier.slice(root.href.length) : undefined;
const edges = new Map<string, Set<string>>();
for (const module of graphs.flatMap((graph) => graph.modules)) {
  const from = rel(module.specifier);
  if (!from) continue;
  const to = new Set<string>();
  for (const dependency of module.dependencies ?? []) {
    for (const target of [dependency.code?.specifier, dependency.type?.specifier]) {
      const local = target && rel(target);
      if (local) to.add(local);
    }
  }
  edges.set(from, to);
}

/** The layer a file is in, and the layers it may import. */
function allowed(from: string, to: string): boolean {
  const core = (file: string) => file === "mod.ts" || file.startsWith("src/");
  const folderOf = (file: string) => file.split("/").slice(0, 2).join("/");
  if (core(to)) return true;
  if (core(from)) return false;
  if (from.startsWith("codecs/")) return false;
  if (from.startsWith("stores/")) {
    if (folderOf(to) === folderOf(from)) return true;
    return from.startsWith("stores/dexie/") && to.startsWith("browser/");
  }
  if (from.startsWith("browser/")) {
    return to.startsWith("browser/") || to.startsWith("stores/indexeddb/");
  }
  return true;
}

const problems: string[] = [];
for (const [from, targets] of edges) {
  for (const to of targets) {
    if (!allowed(from, to)) problems.push(`${from} imports ${to}: a layer above it`);
  }
}

// Cycles: a depth-first search that reports each back edge's loop.
const state = new Map<string, "open" | "done">();
const stack: string[] = [];
function visit(file: string): void {
  state.set(file, "open");
  stack.push(file);
  for (const next of edges.get(file) ?? []) {
    if (state.get(next) === "open") {
      problems.push(
        `import cycle: ${[...stack.slice(stack.indexOf(next)), next].join(" → ")}`,
      );
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, "done");
}
for (const file of edges.keys()) if (!state.has(file)) visit(file);

if (problems.length > 0) {
  console.error(problems.join("\n"));
  Deno.exit(1);
}
console.log(
  `${edges.size} modules of ${entries.length} entry points: no cycle, no upward import`,
);
