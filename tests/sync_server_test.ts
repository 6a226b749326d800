// The sync server's edges on the memory store and PostgreSQL (cases in
// support/sync_server_cases.ts; Deno KV in sync_kv_test.ts).
import { cases } from "./support/sync_server_cases.ts";
import { onMemoryAndPostgres } from "./support/sync_server.ts";

await onMemoryAndPostgres("sync server", cases);
