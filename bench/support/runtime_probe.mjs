// One runtime's figure for `deno task bench:rounds node`: the bus +
// deciderHandler + memory store, 1,000 streams × 10 deposits, bare and
// audited, in Deno (on the sources) or Node (on the npm build). Prints one
// JSON line: µs per command, median of `REPEATS` runs.
import { core, decider, memory } from "./probe_kit.mjs";
const REPEATS = 9;

async function once(audited) {
  const log = new memory.MemoryCommandLog();
  const store = new memory.MemoryEventStore(audited ? { commandLog: log } : {});
  const handler = core.deciderHandler({
    decider,
    store,
    streamId: (c) => `a-${c.data.id}`,
  });
  const bus = new core.CommandBus().register("Open", handler).register(
    "Deposit",
    handler,
  );
  if (audited) bus.use(core.audit(log));
  for (let i = 0; i < 1_000; i++) await bus.dispatch({ type: "Open", data: { id: i } });
  const start = performance.now();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 1_000; i++) {
      await bus.dispatch({ type: "Deposit", data: { id: i, amount: 1 } });
    }
  }
  return (performance.now() - start) * 1_000 / 10_000;
}

const median = (values) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const figures = {};
for (const audited of [false, true]) {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await once(audited));
  figures[audited ? "audited" : "bare"] = median(runs);
}
console.log(JSON.stringify(figures));
