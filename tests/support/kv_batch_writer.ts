// deno-only: Deno KV files, child processes and Deno's own KV handle (tests/kv_contract_test.ts runs the contracts in Node too).
// Appends batches of 400 events to one KV file until killed, printing a line
// after each commit. Used by the SIGKILL test: the parent kills it mid-batch.
import { KvEventStore } from "@verdict/verdict/kv";

const [path, run] = Deno.args;
const kv = await Deno.openKv(path);
const store = new KvEventStore(kv, { prefix: ["crash"] });
const payload = "p".repeat(512);
for (let batch = 0;; batch++) {
  const streamId = `batch-${batch % 3}`;
  console.log(`starting ${batch}`);
  await store.appendToStream(
    streamId,
    Array.from(
      { length: 400 },
      (_, i) => ({ type: "Written", data: { batch: `${run}-${batch}`, i, payload } }),
    ),
  );
  console.log(`committed ${batch}`);
}
