// The sync server's edges on the memory store and PostgreSQL (cases in
// support/sync_server_cases.ts; Deno KV in sync_kv_test.ts).
import { cases } from "./support/sync_server_cases.ts";
import { memoryStores, postgresStores } from "./support/sync_server.ts";
import { testDatabase } from "./support/postgres.ts";

Deno.test({
  name: "sync server over the memory store",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: cases(memoryStores()),
});

const database = await testDatabase();

Deno.test({
  name: "sync server over PostgreSQL",
  ignore: database === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    try {
      await cases(postgresStores(database!))(t);
    } finally {
      await database!.close();
    }
  },
});
