/**
 * Fresh Deno KV files in a temporary folder, removed afterwards: each call of
 * `open` gives a new, empty database file.
 */
export async function withTempKv(
  body: (open: () => Promise<Deno.Kv>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "verdict-kv-" });
  let n = 0;
  try {
    await body(() => Deno.openKv(`${dir}/${n++}.kv`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
