// deno-only: Deno KV files, child processes and Deno's own KV handle (tests/kv_contract_test.ts runs the contracts in Node too).
// One of the processes of the shared-KV-file test: dispatches audited
// commands on counters that the other process writes too, through its own
// handle on the same file, and prints every outcome as one JSON line.
import { audit, CommandBus, type Decider, deciderHandler } from "@verdict/verdict";
import { KvCommandLog, KvEventStore } from "@verdict/verdict/kv";
import { DEFAULT_BUSY_TIMEOUT_MS, whileBusy } from "../../stores/kv/busy.ts";

type Add = { type: "Add"; data: { counter: string; by: string } };
type Added = { type: "Added"; data: { by: string } };

const counter: Decider<Add, number, Added> = {
  initialState: () => 0,
  decide: (command) => [{ type: "Added", data: { by: command.data.by } }],
  evolve: (count) => count + 1,
};

const [path, name, total] = Deno.args;
// Both processes open the file at once: the open can meet the other's lock.
const kv = await whileBusy("Deno KV", DEFAULT_BUSY_TIMEOUT_MS, () => Deno.openKv(path));
const log = new KvCommandLog(kv);
const store = new KvEventStore(kv, { commandLog: log });
const errors: string[] = [];
const bus = new CommandBus<Add>({ onError: (error) => void errors.push(String(error)) })
  .use(audit(log))
  .register(
    "Add",
    deciderHandler({
      decider: counter,
      store,
      streamId: (command) => `counter-${command.data.counter}`,
      retry: { maxAttempts: 50 },
    }),
  );

const outcomes: { commandId: string; status: string; error?: string }[] = [];
// Four at a time, so commits of one process also meet each other.
let next = 0;
await Promise.all(Array.from({ length: 4 }, async () => {
  while (next < Number(total)) {
    const i = next++;
    const result = await bus.dispatch({
      type: "Add",
      data: { counter: String(i % 8), by: `${name}-${i}` },
    });
    outcomes.push({
      commandId: result.commandId,
      status: result.status,
      error: result.status === "failed"
        ? result.error.name
        : result.status === "rejected"
        ? result.reason.name
        : undefined,
    });
  }
}));
console.log(JSON.stringify({ outcomes, errors }));
kv.close();
