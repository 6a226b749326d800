/**
 * Every relative link in the project's Markdown (the READMEs, docs/, bench/)
 * names a file that exists, and every `#anchor` into a Markdown file names
 * one of its headings.
 *
 *   deno run -A scripts/link_check.ts
 */
const root = new URL("../", import.meta.url);
const files = ["README.md", "README.node.md", "ARCHITECTURE.md", "bench/README.md"];
for (const dir of ["docs", "docs/stores"]) {
  for (const entry of Deno.readDirSync(new URL(`${dir}/`, root))) {
    if (entry.isFile && entry.name.endsWith(".md")) files.push(`${dir}/${entry.name}`);
  }
}

/** GitHub's anchor of a heading. */
const anchorOf = (heading: string) =>
  heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");

const problems: string[] = [];
for (const file of files) {
  const text = await Deno.readTextFile(new URL(file, root));
  // Links outside code: drop fenced blocks and inline code first.
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
    const [path, anchor] = target.split("#");
    const resolved = path === ""
      ? new URL(file, root)
      : new URL(path, new URL(file, root));
    try {
      const info = await Deno.stat(resolved);
      if (anchor && info.isFile && resolved.pathname.endsWith(".md")) {
        const headings = (await Deno.readTextFile(resolved)).matchAll(/^#+ (.+)$/gm);
        if (![...headings].some(([, h]) => anchorOf(h) === anchor)) {
          problems.push(`${file}: ${target}: no heading for #${anchor}`);
        }
      }
    } catch {
      problems.push(`${file}: ${target}: no such file`);
    }
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  Deno.exit(1);
}
console.log(`${files.length} Markdown files: every relative link resolves`);
