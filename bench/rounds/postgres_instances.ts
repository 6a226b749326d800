/**
 * `deno task bench:rounds postgres-instances [rounds] [commands per worker]`:
 * 4 app instances (processes) × 8 workers depositing into 200 shared
 * accounts on one PostgreSQL, each instance with its own pool and state
 * cache: today's caches beside `coherentCache`, the two taking turns, round
 * after round. Prints each round's conflicts and throughput (commands over
 * the slowest instance's time) and the medians of the paired ratios.
 */
import { openPostgresStores } from "@verdict/verdict/postgres";
import { median, roundsArgument } from "./shared.ts";
import { startPostgres } from "../../tests/support/start_postgres.ts";

const ROUNDS = roundsArgument("bench:rounds postgres-instances", 5);
const PER_WORKER = Deno.args[1] ?? "125";
const INSTANCES = 4;
const probe = new URL("../support/instance_probe.ts", import.meta.url).pathname;

interface Outcome {
  commands: number;
  conflicts: number;
  failed: number;
  ms: number;
}

/** One round of one mode: the instances set up, start together, finish. */
async function round(url: string, schema: string, mode: string): Promise<Outcome> {
  const children = Array.from(
    { length: INSTANCES },
    () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", probe, url, schema, mode, PER_WORKER],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
  );
  const lines = children.map((child) =>
    child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  );
  const read = async (reader: ReadableStreamDefaultReader<string>) => {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`an instance ended early: ${text}`);
      text += value;
    }
    return text.trim();
  };
  for (const reader of lines) {
    const ready = await read(reader);
    if (ready !== "ready") throw new Error(`an instance said "${ready}"`);
  }
  // All set up: start them together.
  await Promise.all(children.map(async (child) => {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
  }));
  const outcomes: Outcome[] = await Promise.all(
    lines.map(async (reader) => JSON.parse(await read(reader))),
  );
  await Promise.all(children.map((child) => child.status));
  return {
    commands: outcomes.reduce((sum, o) => sum + o.commands, 0),
    conflicts: outcomes.reduce((sum, o) => sum + o.conflicts, 0),
    failed: outcomes.reduce((sum, o) => sum + o.failed, 0),
    ms: Math.max(...outcomes.map((o) => o.ms)),
  };
}

const server = await startPostgres();
try {
  const schema = `instances_${Date.now()}`;
  const stores = openPostgresStores(server.url, { schema });
  for (let i = 0; i < 200; i++) {
    await stores.events.appendToStream(`account-a${i}`, [{
      type: "AccountOpened",
      data: { accountId: `a${i}`, owner: "o" },
    }]);
  }
  await stores.close();
  console.log(
    `PostgreSQL, ${INSTANCES} processes × 8 workers × ${PER_WORKER} deposits on 200 accounts, ${ROUNDS} rounds`,
  );
  const conflictRatios: number[] = [];
  const throughputRatios: number[] = [];
  const figures: Record<string, { conflicts: number[]; perSecond: number[] }> = {
    plain: { conflicts: [], perSecond: [] },
    coherent: { conflicts: [], perSecond: [] },
  };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ["coherent", "plain"] : ["plain", "coherent"];
    const results: Record<string, Outcome> = {};
    for (const mode of order) results[mode] = await round(server.url, schema, mode);
    for (const [mode, outcome] of Object.entries(results)) {
      if (outcome.failed > 0) {
        throw new Error(`${mode}: ${outcome.failed} commands failed`);
      }
      figures[mode].conflicts.push(outcome.conflicts);
      figures[mode].perSecond.push(outcome.commands / outcome.ms * 1_000);
    }
    const { plain, coherent } = results;
    conflictRatios.push(coherent.conflicts / plain.conflicts);
    throughputRatios.push(
      (coherent.commands / coherent.ms) / (plain.commands / plain.ms),
    );
    console.log(
      `  round ${r + 1}: today's caches ${plain.conflicts} conflicts, ${
        (plain.commands / plain.ms * 1_000).toFixed(0)
      }/s; coherent ${coherent.conflicts} conflicts, ${
        (coherent.commands / coherent.ms * 1_000).toFixed(0)
      }/s`,
    );
  }
  const range = (values: number[]) =>
    `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  console.log(
    `  medians: today's caches ${median(figures.plain.conflicts)} conflicts, ${
      median(figures.plain.perSecond).toFixed(0)
    }/s; coherent ${median(figures.coherent.conflicts)} conflicts, ${
      median(figures.coherent.perSecond).toFixed(0)
    }/s`,
  );
  console.log(
    `  coherent over today's: conflicts ${median(conflictRatios).toFixed(2)}× (rounds ${
      range(conflictRatios)
    }), throughput ${median(throughputRatios).toFixed(2)}× (rounds ${
      range(throughputRatios)
    })`,
  );
} finally {
  await server.stop();
}
