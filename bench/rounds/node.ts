/**
 * `deno task bench:rounds node [rounds]`: the same workload — the bus +
 * `deciderHandler` + memory store, 1,000 streams × 10 deposits, bare and
 * audited — in Node on the npm build and in Deno on the sources, the two
 * runtimes taking turns. Prints each round's µs per command and the median
 * of the paired Node / Deno ratios. Builds the npm package first when it is
 * not there (`deno task build:npm --no-test`).
 */
import { ensureNpmBuild, median, roundsArgument, runProbe } from "./shared.ts";

const ROUNDS = roundsArgument("bench:rounds node", 5);
const root = new URL("../../", import.meta.url);
const probe = new URL("bench/support/runtime_probe.mjs", root).pathname;

const run = (command: string, args: string[]) =>
  runProbe<Record<string, number>>(command, args);

await ensureNpmBuild();
const deno = () => run(Deno.execPath(), ["run", "-A", "--no-check", probe]);
const node = () => run("node", [probe]);

const ratios: Record<string, number[]> = { bare: [], audited: [] };
for (let round = 0; round < ROUNDS; round++) {
  let d: Record<string, number>, n: Record<string, number>;
  if (round % 2) {
    d = await deno();
    n = await node();
  } else {
    n = await node();
    d = await deno();
  }
  for (const kind of ["bare", "audited"]) ratios[kind].push(n[kind] / d[kind]);
  console.log(
    `round ${round + 1}: Deno ${d.bare.toFixed(2)} / ${d.audited.toFixed(2)} µs, ` +
      `Node ${n.bare.toFixed(2)} / ${n.audited.toFixed(2)} µs (bare / audited)`,
  );
}
for (const kind of ["bare", "audited"]) {
  console.log(
    `${kind}: Node at ${median(ratios[kind]).toFixed(2)}× Deno's time per command ` +
      `(rounds ${Math.min(...ratios[kind]).toFixed(2)}–${
        Math.max(...ratios[kind]).toFixed(2)
      })`,
  );
}
