/**
 * The documentation check: every public symbol of every entry point has
 * JSDoc with a one-line description and at least one `@example`, and every
 * entry point has a module doc. Reads `deno doc --json`.
 *
 *   deno run -A scripts/doc_check.ts
 */

const config = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
);
const entries: string[] = Object.values(config.exports);

interface JsDoc {
  doc?: string;
  tags?: { kind: string }[];
}
interface DocSymbol {
  name: string;
  declarations: {
    kind: string;
    jsDoc?: JsDoc;
    location: { filename: string; line: number };
  }[];
}
interface DocModule {
  module_doc?: JsDoc;
  symbols: DocSymbol[];
}

const { stdout, code } = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--json", ...entries],
  stderr: "inherit",
}).output();
if (code !== 0) Deno.exit(code);
const nodes: Record<string, DocModule> =
  JSON.parse(new TextDecoder().decode(stdout)).nodes;

const problems: string[] = [];
let checked = 0;
for (const [specifier, module] of Object.entries(nodes)) {
  const name = specifier.replace(new URL("../", import.meta.url).href, "");
  if (!module.module_doc?.doc) problems.push(`${name}: no module doc`);
  for (const symbol of module.symbols) {
    // A named re-export is documented where it is declared (checked there).
    if (symbol.declarations.every((d) => d.kind === "import" || d.kind === "reference")) {
      continue;
    }
    // A symbol declared several times (an overload, a re-export) needs docs once.
    const documented = symbol.declarations.find((d) => d.jsDoc?.doc);
    const where = symbol.declarations[0].location;
    const at = `${where.filename.replace(/^.*\/work\/main\//, "")}:${where.line}`;
    checked++;
    if (!documented) {
      problems.push(`${symbol.name} (${at}): no JSDoc`);
      continue;
    }
    const hasExample = symbol.declarations.some((d) =>
      d.jsDoc?.tags?.some((tag) => tag.kind === "example")
    );
    if (!hasExample) problems.push(`${symbol.name} (${at}): no @example`);
  }
}
for (const problem of problems) console.error(`  ✗ ${problem}`);
console.log(
  `doc check: ${checked} public symbols in ${entries.length} entry points, ${problems.length} without JSDoc and an @example`,
);
if (problems.length > 0) Deno.exit(1);
