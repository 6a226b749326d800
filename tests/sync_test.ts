// Offline sync end to end in one process: SyncClient on fake-indexeddb,
// syncHandler over the bank on the memory store and PostgreSQL, the network
// between them cut, lossy or back (cases in support/sync_client_cases.ts;
// Deno KV in sync_kv_test.ts; real Chromium and HTTP in browser_sync_test.ts).
import "fake-indexeddb/auto";
import { cases } from "./support/sync_client_cases.ts";
import { onMemoryAndPostgres } from "./support/sync_server.ts";

await onMemoryAndPostgres("offline sync", cases);
