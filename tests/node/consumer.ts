// Type-checked by scripts/build_npm.ts against the built package, with
// moduleResolution "nodenext" and "bundler": every subpath resolves, with types.
import {
  audit,
  CommandBus,
  type CommandResult,
  type Decider,
  deciderHandler,
  type EventStore,
} from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { eventStoreContract, runContract } from "@verdict/verdict/testing";
import { cborCodec } from "@verdict/verdict/cbor";

type Add = { type: "Add"; data: { n: number } };
type Added = { type: "Added"; data: { n: number } };
const sum: Decider<Add, number, Added> = {
  initialState: () => 0,
  decide: (command) => [{ type: "Added", data: { n: command.data.n } }],
  evolve: (total, event) => total + event.data.n,
};

const log = new MemoryCommandLog();
const store: EventStore = new MemoryEventStore({ commandLog: log });
const bus = new CommandBus<Add>()
  .use(audit(log, { codec: cborCodec }))
  .register("Add", deciderHandler({ decider: sum, store, streamId: () => "sum" }));

export const result: Promise<CommandResult> = bus.dispatch({
  type: "Add",
  data: { n: 1 },
});
export const contract: Promise<{ passed: boolean }[]> = runContract(
  eventStoreContract(() => new MemoryEventStore()),
);
