// Every contract suite the Deno KV stores keep, on fresh KV files from
// `open`, under a key prefix: in Deno on Deno's own handle and on one without
// commit versionstamps, and in Node on the `@deno/kv` package
// (tests/kv_contract_test.ts runs them on each).
import {
  type Kv,
  KvCheckpointStore,
  KvCommandLog,
  KvDocumentStore,
  KvEventStore,
  type KvKey,
  KvSnapshotStore,
} from "@verdict/verdict/kv";
import { type ContractCase, type DamageKit, storeSuites } from "@verdict/verdict/testing";
import { soak } from "./soak.ts";

/** The KV stores' suites, named after `name`. */
export function kvSuites(
  name: string,
  open: () => Promise<Kv>,
  prefix: KvKey = ["verdict"],
): [string, ContractCase[]][] {
  const handles = new WeakMap<KvEventStore, Kv>();
  const key = (streamId: string, version: number) => [...prefix, "s", streamId, version];
  const damage: DamageKit<KvEventStore> = {
    async damage(store, streamId, version, damage) {
      const kv = handles.get(store)!;
      const entry = await kv.get<Record<string, unknown>>(key(streamId, version));
      const value = { ...entry.value! };
      if (damage === "metadata is an array") value.metadata = [1];
      else if (damage === "type is empty") value.type = "";
      else delete value.data;
      await kv.set(key(streamId, version), value);
    },
    async remove(store, streamId, version) {
      await handles.get(store)!.delete(key(streamId, version));
    },
  };
  return storeSuites(name, {
    events: async () => new KvEventStore(await open(), { prefix, ownsKv: true }),
    eventsWithLog: async () => {
      const kv = await open();
      const commandLog = new KvCommandLog(kv, { prefix });
      return new KvEventStore(kv, { prefix, commandLog, ownsKv: true });
    },
    documents: async (projections) => {
      const kv = await open();
      const documents = new KvDocumentStore(kv, { prefix });
      const events = new KvEventStore(kv, {
        prefix,
        ownsKv: true,
        inlineProjections: { store: documents, projections },
      });
      return { events, documents, close: () => events.close() };
    },
    damage: {
      events: async () => {
        const kv = await open();
        const store = new KvEventStore(kv, { prefix, ownsKv: true });
        handles.set(store, kv);
        return store;
      },
      kit: damage,
    },
    commandLog: async () => new KvCommandLog(await open(), { prefix, ownsKv: true }),
    checkpoints: async () =>
      new KvCheckpointStore(await open(), { prefix, ownsKv: true }),
    snapshots: async () => new KvSnapshotStore(await open(), { prefix, ownsKv: true }),
    queries: true,
  }, { maxPayloadBytes: 60_000, exactlyOnce: { commands: soak(2_000, 500) } });
}
