// deno-only: Deno KV.
// Offline sync and the sync server's edges over Deno KV on a temp file.
import "fake-indexeddb/auto";
import { cases as clientCases } from "./support/sync_client_cases.ts";
import { cases as serverCases } from "./support/sync_server_cases.ts";
import { kvStores } from "./support/sync_kv.ts";

Deno.test({
  name: "offline sync over Deno KV",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "verdict-sync-kv-" });
    try {
      await clientCases(kvStores(dir))(t);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sync server over Deno KV",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "verdict-sync-kv-" });
    try {
      await serverCases(kvStores(dir))(t);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
