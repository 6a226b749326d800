// One runtime's figures for `deno task bench:rounds cold`: the bus +
// deciderHandler with its cache off on the memory store, COMMANDS deposits
// on one stream (each command reads the whole stream), beside the raw floor
// of the same decide + evolve folds over the same events held in an array;
// and loading one LOAD-event stream (read + fold) beside folding the array.
// verdict and its floor take turns, ROUNDS times, in Deno (on the sources)
// or Node (on the npm build). Prints one JSON line: each round's ratios of
// the floor's time to verdict's (1 = as fast as the floor), and verdict's µs
// per command.
import { core, decider, memory } from "./probe_kit.mjs";
const inDeno = typeof Deno !== "undefined";
const args = inDeno ? Deno.args : process.argv.slice(2);
const ROUNDS = Number(args[0] ?? 5);
const COMMANDS = Number(args[1] ?? 10_000);
const LOAD = 100_000;

const open = { type: "Open", data: { id: 1 } };
const deposit = { type: "Deposit", data: { id: 1, amount: 1 } };

/** COMMANDS commands through the bus, the cache off: each one reads the stream. */
async function verdictCommands() {
  const store = new memory.MemoryEventStore();
  const handler = core.deciderHandler({
    decider,
    store,
    streamId: (c) => `a-${c.data.id}`,
    cache: false,
  });
  const bus = new core.CommandBus().register("Open", handler).register(
    "Deposit",
    handler,
  );
  const start = performance.now();
  await bus.dispatch(open);
  for (let i = 1; i < COMMANDS; i++) {
    const result = await bus.dispatch(deposit);
    if (result.status !== "accepted") throw new Error(`not accepted: ${result.status}`);
  }
  return lastMs = performance.now() - start;
}

/** The floor: the same folds and decisions over an array of the events. */
async function floorCommands() {
  const events = [];
  const start = performance.now();
  for (let i = 0; i < COMMANDS; i++) {
    let state = decider.initialState();
    for (let e = 0; e < events.length; e++) state = decider.evolve(state, events[e]);
    const decided = decider.decide(i === 0 ? open : deposit, state);
    for (const event of decided) {
      events.push({
        id: String(events.length),
        type: event.type,
        data: event.data,
        metadata: {},
        streamId: "a-1",
        version: events.length + 1,
        position: events.length + 1,
        timestamp: new Date(),
      });
    }
    await undefined;
  }
  return performance.now() - start;
}

/** A LOAD-event stream, stored and as an array, for the load pair. */
const loadStore = new memory.MemoryEventStore();
const loadEvents = [{ type: "Opened", data: { id: 1 } }];
for (let i = 1; i < LOAD; i++) {
  loadEvents.push({ type: "Deposited", data: { amount: 1 } });
}
for (let i = 0; i < LOAD; i += 1_000) {
  await loadStore.appendToStream("big", loadEvents.slice(i, i + 1_000));
}
const loadArray = await loadStore.readStream("big");

async function verdictLoad() {
  const start = performance.now();
  const events = await loadStore.readStream("big");
  const state = core.fold(decider, events);
  if (state.balance !== LOAD - 1) throw new Error("wrong balance");
  return performance.now() - start;
}

async function floorLoad() {
  const start = performance.now();
  let state = decider.initialState();
  for (let e = 0; e < loadArray.length; e++) state = decider.evolve(state, loadArray[e]);
  if (state.balance !== LOAD - 1) throw new Error("wrong balance");
  await undefined;
  return performance.now() - start;
}

const rounds = { commands: [], load: [], us: [] };
let lastMs = 0;
for (let round = 0; round < ROUNDS; round++) {
  const pair = async (ours, floor) => {
    if (round % 2) {
      const f = await floor();
      return f / await ours();
    }
    const o = await ours();
    return await floor() / o;
  };
  rounds.commands.push(await pair(verdictCommands, floorCommands));
  rounds.us.push(lastMs * 1_000 / COMMANDS);
  const loads = [];
  for (let i = 0; i < 5; i++) loads.push(await pair(verdictLoad, floorLoad));
  rounds.load.push(loads.sort((a, b) => a - b)[2]);
}
console.log(JSON.stringify(rounds));
