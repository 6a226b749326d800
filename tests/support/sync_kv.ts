// deno-only: Deno KV files, child processes and Deno's own KV handle (tests/kv_contract_test.ts runs the contracts in Node too).
/** The sync tests' Deno KV stores: a new file under `dir` at each call. */
import { openKvStores } from "@verdict/verdict/kv";
import type { StoreFactory } from "./sync_server.ts";

export function kvStores(dir: string): StoreFactory {
  let n = 0;
  return () => openKvStores(`${dir}/sync-${n++}.kv`);
}
