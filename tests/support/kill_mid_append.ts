// deno-only: it spawns and kills Deno processes.
/**
 * Runs a batch-writer script (`kv_batch_writer.ts`, `pg_batch_writer.ts`)
 * in a child Deno process, lets it commit two batches, waits `delayMs(round)`
 * and kills it with SIGKILL — round after round, until it has been killed
 * inside an append twice (its last line says it started a batch it never
 * finished) or 12 rounds have passed.
 *
 * @returns how many rounds killed the writer inside an append.
 */
export async function killWriterMidAppend(
  args: (round: number) => string[],
  delayMs: (round: number) => number,
): Promise<number> {
  let killedMidAppend = 0;
  for (let round = 0; round < 12 && killedMidAppend < 2; round++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: args(round),
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const output = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let printed = "";
    while ((printed.match(/committed/g)?.length ?? 0) < 2) {
      const { value, done } = await output.read();
      if (done) break;
      printed += value;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs(round)));
    child.kill("SIGKILL");
    await child.status;
    while (true) {
      const { value, done } = await output.read();
      if (done) break;
      printed += value;
    }
    const last = printed.trim().split("\n").at(-1) ?? "";
    if (last.startsWith("starting")) killedMidAppend++;
  }
  return killedMidAppend;
}
