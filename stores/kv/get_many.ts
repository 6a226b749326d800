/**
 * Strongly consistent reads of any number of keys: Deno KV's `getMany`
 * takes at most 10 keys, so longer lists go in chunks, read concurrently.
 * Internal to the KV stores.
 *
 * @module
 */

import type { Kv, KvEntryMaybe, KvKey } from "./kv.ts";

/** How many keys one `getMany` call may take. */
export const GET_MANY = 10;

/** The entries of `keys`, in order, read with strong consistency. */
export async function getManyStrong<T>(
  kv: Kv,
  keys: readonly KvKey[],
): Promise<KvEntryMaybe<T>[]> {
  if (keys.length <= GET_MANY) {
    return await kv.getMany<T[]>(keys, { consistency: "strong" });
  }
  const chunks: Promise<KvEntryMaybe<T>[]>[] = [];
  for (let i = 0; i < keys.length; i += GET_MANY) {
    chunks.push(kv.getMany<T[]>(keys.slice(i, i + GET_MANY), { consistency: "strong" }));
  }
  return (await Promise.all(chunks)).flat();
}
