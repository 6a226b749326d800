import { KvCheckpointStore, KvCommandLog, KvEventStore } from "@verdict/verdict/kv";
import {
  checkpointStoreContract,
  commandLogContract,
  eventStoreContract,
} from "@verdict/verdict/testing";
import { withTempKv } from "./support/temp_kv.ts";

Deno.test("the Deno KV event store keeps the event-store contract", async (t) => {
  await withTempKv(async (open) => {
    const factory = async () =>
      new KvEventStore(await open(), { prefix: ["contract"], ownsKv: true });
    for (const c of eventStoreContract(factory, { maxPayloadBytes: 60_000 })) {
      await t.step(c.name, c.run);
    }
  });
});

Deno.test("the Deno KV event store with its command log keeps the event-store contract", async (t) => {
  await withTempKv(async (open) => {
    const factory = async () => {
      const kv = await open();
      return new KvEventStore(kv, { commandLog: new KvCommandLog(kv), ownsKv: true });
    };
    for (const c of eventStoreContract(factory, { maxPayloadBytes: 60_000 })) {
      await t.step(c.name, c.run);
    }
  });
});

Deno.test("the Deno KV command log keeps the command-log contract", async (t) => {
  await withTempKv(async (open) => {
    const factory = async () => new KvCommandLog(await open(), { ownsKv: true });
    for (const c of commandLogContract(factory, { maxPayloadBytes: 60_000 })) {
      await t.step(c.name, c.run);
    }
  });
});

Deno.test("the Deno KV checkpoint store keeps the checkpoint contract", async (t) => {
  await withTempKv(async (open) => {
    const factory = async () => new KvCheckpointStore(await open(), { ownsKv: true });
    for (const c of checkpointStoreContract(factory)) await t.step(c.name, c.run);
  });
});
