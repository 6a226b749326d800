/**
 * `deno task bench:rounds cold [rounds] [commands]`: the decider handler with
 * its cache off on the memory store, where every command reads its whole
 * stream: `commands` deposits on one stream (default 10,000) beside the raw
 * decide + evolve floor over the same events in an array, and one
 * 100,000-event stream loaded and folded beside folding the array. Runs in
 * Deno on the sources and in Node on the npm build (built first when it is
 * not there). Each round runs both runtimes, in turn first; inside each,
 * verdict and its floor take turns. Prints the medians of the paired ratios
 * (1 = as fast as the floor) and of Node's time per command over Deno's.
 */
import { ensureNpmBuild, median, roundsArgument, runProbe } from "./shared.ts";

const ROUNDS = roundsArgument("bench:rounds cold", 5);
const COMMANDS = Deno.args[1] ?? "10000";
const root = new URL("../../", import.meta.url);
const probe = new URL("bench/support/cold_probe.mjs", root).pathname;

interface Figures {
  commands: number[];
  load: number[];
  us: number[];
}

const run = (command: string, args: string[]) => runProbe<Figures>(command, args);

await ensureNpmBuild();
const deno: Figures = { commands: [], load: [], us: [] };
const node: Figures = { commands: [], load: [], us: [] };
const runDeno = () =>
  run(Deno.execPath(), ["run", "-A", "--no-check", probe, "1", COMMANDS]);
const runNode = () => run("node", [probe, "1", COMMANDS]);
for (let round = 0; round < ROUNDS; round++) {
  const [d, n] = round % 2
    ? [await runDeno(), await runNode()]
    : await runNode().then(async (n) => [await runDeno(), n]);
  for (const key of ["commands", "load", "us"] as const) {
    deno[key].push(...d[key]);
    node[key].push(...n[key]);
  }
}
const range = (values: number[]) =>
  `${median(values).toFixed(2)}× (rounds ${Math.min(...values).toFixed(2)}–${
    Math.max(...values).toFixed(2)
  })`;
for (const [name, figures] of [["Deno", deno], ["Node", node]] as const) {
  console.log(
    `${name}, cache off, ${COMMANDS} commands on one stream: ${
      range(figures.commands)
    } the floor`,
  );
  console.log(
    `${name}, one 100,000-event stream loaded and folded: ${
      range(figures.load)
    } the floor`,
  );
}
console.log(
  `Node's µs per command as a ratio of Deno's: ${
    range(node.us.map((us, i) => us / deno.us[i]))
  } (${median(deno.us).toFixed(1)} vs ${median(node.us).toFixed(1)} µs)`,
);
