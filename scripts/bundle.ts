/**
 * `deno task bundle`: bundles the browser entries with esbuild into `dist/`
 * as minified ES modules and prints each one's size, minified and gzipped:
 * the core, the memory stores, and the browser entry (core + IndexedDB
 * stores). None of them imports anything from Deno or Node.
 */
import * as esbuild from "esbuild";

const entries: Record<string, string> = {
  "verdict": "mod.ts",
  "verdict-memory": "stores/memory/mod.ts",
  "verdict-browser": "browser/mod.ts",
};

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const result = await esbuild.build({
  entryPoints: entries,
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  outdir: "dist",
  write: true,
  metafile: true,
  logLevel: "warning",
});
await esbuild.stop();

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
console.log(`${"entry".padEnd(24)} minified   gzipped`);
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (!file.endsWith(".js")) continue;
  const bytes = await Deno.readFile(file);
  // A browser bundle must be whole: nothing left for a runtime to resolve.
  const imported = output.imports.filter((i) => i.external).map((i) => i.path);
  if (imported.length > 0) throw new Error(`${file} imports ${imported.join(", ")}`);
  console.log(
    `${file.padEnd(24)} ${kb(bytes.length).padStart(8)} ${
      kb(await gzipSize(bytes)).padStart(9)
    }`,
  );
}
