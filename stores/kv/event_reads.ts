/**
 * The Deno KV event store's reads: one stream by key range, events by id,
 * and the global log in commit order, every event checked on the way.
 *
 * @module
 */

import type { AtomicOperation, Kv, KvEntry } from "./kv.ts";
import {
  DuplicateEventIdError,
  type Event,
  EventDecodeError,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamAppend,
} from "../../mod.ts";
import { assertStreamSequence } from "../../src/store_kit/mod.ts";
import { getManyStrong } from "./get_many.ts";
import {
  type CommitEntry,
  commitOf,
  commitStreams,
  decodeEvent,
  type KeyOf,
  PER_COMMIT,
  positionOf,
  type StoredEvent,
} from "./event_layout.ts";

/** Reads one stream's events. */
export async function listStream<E extends Event>(
  kv: Kv,
  key: KeyOf,
  streamId: string,
  options: ReadStreamOptions,
): Promise<RecordedEvent<E>[]> {
  const limit = options.limit ?? Infinity;
  if (limit === 0) return [];
  const backward = options.direction === "backward";
  const selector = backward
    ? {
      start: key("s", streamId, 1),
      end: key("s", streamId, (options.from ?? Number.MAX_SAFE_INTEGER - 1) + 1),
    }
    : {
      start: key("s", streamId, options.from ?? 1),
      end: key("s", streamId, Number.MAX_SAFE_INTEGER),
    };
  const out: RecordedEvent<E>[] = [];
  for await (
    const entry of kv.list<StoredEvent>(selector, {
      reverse: backward,
      limit: Number.isFinite(limit) ? limit : undefined,
      consistency: "strong",
    })
  ) {
    out.push(decodeEvent<E>(entry, streamId, entry.key.at(-1) as number));
  }
  assertStreamSequence(
    out,
    streamId,
    options.from ?? 1,
    backward ? "backward" : "forward",
  );
  return out;
}

/** Reads events by id, in the order given; unknown ids are left out. */
export async function getEvents<E extends Event>(
  kv: Kv,
  key: KeyOf,
  ids: readonly string[],
): Promise<RecordedEvent<E>[]> {
  const refs = await getManyStrong<[string, number]>(
    kv,
    ids.map((id) => key("id", id)),
  );
  const known = refs.filter((ref) => Array.isArray(ref.value));
  const entries = await getManyStrong<StoredEvent>(
    kv,
    known.map((ref) => key("s", ref.value![0], ref.value![1])),
  );
  const out: RecordedEvent<E>[] = [];
  entries.forEach((entry, i) => {
    if (entry.versionstamp === null) return;
    const [streamId, version] = known[i].value!;
    out.push(decodeEvent<E>(entry as KvEntry<StoredEvent>, streamId, version));
  });
  return out;
}

/** Reads all events in global order after a position. */
export async function listAll<E extends Event>(
  kv: Kv,
  key: KeyOf,
  after: number,
  limit: number,
): Promise<RecordedEvent<E>[]> {
  const out: RecordedEvent<E>[] = [];
  if (limit === 0) return out;
  const start = after === 0 ? key("g", "") : key("g", commitOf(after));
  const commits = kv.list<CommitEntry>(
    { start, end: key("g", "\uffff") },
    { consistency: "strong" },
  );
  for await (const commit of commits) {
    const versionstamp = commit.key.at(-1) as string;
    // A commit wholly at or before `after` (the first one listed can be).
    if (positionOf(versionstamp, PER_COMMIT - 1) <= after) continue;
    const wanted = commitRefs(commit, versionstamp)
      .filter((ref) => positionOf(versionstamp, ref.index) > after)
      .slice(0, limit - out.length);
    for (const event of await loadRefs<E>(kv, key, commit, versionstamp, wanted)) {
      out.push(event);
    }
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * The position of the last event in the global log (0 when it is empty):
 * a head, read before what it heads, as any later commit comes after it.
 */
export async function lastPosition(kv: Kv, key: KeyOf): Promise<number> {
  for await (
    const commit of kv.list<CommitEntry>(
      { start: key("g", ""), end: key("g", "\uffff") },
      { reverse: true, limit: 1, consistency: "strong" },
    )
  ) {
    const versionstamp = commit.key.at(-1) as string;
    const refs = commitRefs(commit, versionstamp);
    return positionOf(versionstamp, refs.length - 1);
  }
  return 0;
}

/**
 * The events after `after`, and at most `head`, of the commits the tag
 * index lists under any of `tags`, in global order (not yet matched to a
 * query): the index entries first, then their commits' entries and events.
 */
export async function listByTags<E extends Event>(
  kv: Kv,
  key: KeyOf,
  tags: readonly string[],
  after: number,
  head: number,
): Promise<RecordedEvent<E>[]> {
  if (head <= after) return [];
  const last = commitOf(head);
  const byCommit = new Map<string, Set<number>>();
  for (const tag of tags) {
    const start = after === 0 ? key("xt", tag, "") : key("xt", tag, commitOf(after));
    for await (
      const entry of kv.list<number[]>(
        { start, end: key("xt", tag, "\uffff") },
        { consistency: "strong" },
      )
    ) {
      const versionstamp = entry.key.at(-1) as string;
      if (versionstamp > last) break;
      const indexes = entry.value;
      if (
        !Array.isArray(indexes) ||
        !indexes.every((i) => Number.isSafeInteger(i) && i >= 0 && i < PER_COMMIT)
      ) {
        throw new EventDecodeError(
          positionOf(versionstamp, PER_COMMIT - 1),
          indexes,
          `the index of tag "${tag}" in commit ${versionstamp} is damaged`,
        );
      }
      let wanted = byCommit.get(versionstamp);
      if (!wanted) byCommit.set(versionstamp, wanted = new Set());
      for (const i of indexes) wanted.add(i);
    }
  }
  const versionstamps = [...byCommit.keys()].sort();
  const commits = await getManyStrong<CommitEntry>(
    kv,
    versionstamps.map((versionstamp) => key("g", versionstamp)),
  );
  const out: RecordedEvent<E>[] = [];
  for (let c = 0; c < commits.length; c++) {
    const versionstamp = versionstamps[c];
    const commit = commits[c];
    if (commit.versionstamp === null) {
      throw new EventDecodeError(
        positionOf(versionstamp, PER_COMMIT - 1),
        undefined,
        `the global-log entry of commit ${versionstamp}, which the tag index names, is missing`,
      );
    }
    const wanted = byCommit.get(versionstamp)!;
    const refs = commitRefs(commit as KvEntry<CommitEntry>, versionstamp).filter(
      (ref) => {
        const position = positionOf(versionstamp, ref.index);
        return wanted.has(ref.index) && position > after && position <= head;
      },
    );
    for (
      const event of await loadRefs<E>(
        kv,
        key,
        commit as KvEntry<CommitEntry>,
        versionstamp,
        refs,
      )
    ) out.push(event);
  }
  return out;
}

/** One event of a commit: where its stream keeps it, and its index in the commit. */
interface CommitRef {
  readonly streamId: string;
  readonly version: number;
  readonly index: number;
}

/** The events a global-log entry lists, in commit order; damage is an error. */
function commitRefs(commit: KvEntry<CommitEntry>, versionstamp: string): CommitRef[] {
  const streams = commitStreams(commit.value);
  if (typeof streams === "string") {
    // Nothing of a damaged entry can be trusted, not even its length:
    // the error names the commit's last possible position, so a
    // subscription that skips it skips the whole commit.
    throw new EventDecodeError(
      positionOf(versionstamp, PER_COMMIT - 1),
      commit.value,
      `the global-log entry of commit ${versionstamp} is damaged: ${streams}`,
    );
  }
  const refs: CommitRef[] = [];
  let index = 0;
  for (const [streamId, first, count] of streams) {
    for (let v = first; v < first + count; v++) {
      refs.push({ streamId, version: v, index: index++ });
    }
  }
  return refs;
}

/** The events of `refs`, read where their streams keep them, and checked. */
async function loadRefs<E extends Event>(
  kv: Kv,
  key: KeyOf,
  commit: KvEntry<CommitEntry>,
  versionstamp: string,
  refs: readonly CommitRef[],
): Promise<RecordedEvent<E>[]> {
  // One copy of each event, the one readStream reads: an entry's copy
  // of its events (written by earlier versions) is not read.
  const entries = await getManyStrong<StoredEvent>(
    kv,
    refs.map((ref) => key("s", ref.streamId, ref.version)),
  );
  return entries.map((entry, i) => {
    const ref = refs[i];
    const where = { streamId: ref.streamId, version: ref.version };
    const position = positionOf(versionstamp, ref.index);
    if (entry.versionstamp === null) {
      throw new EventDecodeError(position, undefined, "the event is missing", where);
    }
    // Written by the commit of this global-log entry, and not since: a
    // stamped event's versionstamp is the entry's key; a numbered one
    // names the key, and was written with the entry.
    const numbered = (entry.value as StoredEvent | null)?.c;
    if (
      numbered === undefined
        ? entry.versionstamp !== versionstamp
        : numbered !== versionstamp || entry.versionstamp !== commit.versionstamp
    ) {
      throw new EventDecodeError(
        position,
        entry.value,
        `the event was written again after its commit (versionstamp ${entry.versionstamp})`,
        where,
      );
    }
    return decodeEvent<E>(entry as KvEntry<StoredEvent>, ref.streamId, ref.version);
  });
}

/**
 * The stored events of an append's given ids, read from where each stream's
 * first event is stored; `undefined` when none of the ids is stored (a new
 * append). Ids stored, but none where the append would put them, are a
 * `DuplicateEventIdError`.
 */
export async function storedForRetry<E extends Event>(
  kv: Kv,
  key: KeyOf,
  appends: readonly StreamAppend<E>[],
): Promise<Map<string, RecordedEvent<E>> | undefined> {
  const given = appends.flatMap((append) =>
    append.events.filter((event) => event.id !== undefined).map((event) => event.id!)
  );
  const found = await getManyStrong<[string, number]>(
    kv,
    given.map((id) => key("id", id)),
  );
  const known = found.findIndex((entry) => entry.value !== null);
  if (known < 0) return undefined;
  const stored = new Map<string, RecordedEvent<E>>();
  for (const append of appends) {
    const first = append.events[0]?.id;
    const at = first === undefined ? null : found[given.indexOf(first)]?.value;
    if (!at || at[0] !== append.streamId) continue;
    const events = await listStream<E>(kv, key, append.streamId, {
      from: at[1],
      limit: append.events.length,
    });
    for (const event of events) stored.set(event.id, event);
  }
  if (stored.size === 0) throw new DuplicateEventIdError(given[known]);
  return stored;
}

/**
 * Builds the tag index for commits written before it existed, once per
 * store: every commit of the log with tagged events gets its index entries
 * (the same ones an append writes, so rewriting one is harmless), then the
 * `[P, "xt-ready"]` key says it is done. `write` commits one operation.
 */
export async function buildTagIndex(
  kv: Kv,
  key: KeyOf,
  write: (operation: AtomicOperation) => Promise<unknown>,
): Promise<void> {
  if ((await kv.get(key("xt-ready"), { consistency: "strong" })).versionstamp !== null) {
    return;
  }
  let operation = kv.atomic();
  let mutations = 0;
  for await (
    const commit of kv.list<CommitEntry>(
      { start: key("g", ""), end: key("g", "\uffff") },
      { consistency: "strong" },
    )
  ) {
    const versionstamp = commit.key.at(-1) as string;
    const refs = commitRefs(commit, versionstamp);
    const events = await loadRefs(kv, key, commit, versionstamp, refs);
    const tags = new Map<string, number[]>();
    events.forEach((event, i) => {
      for (const tag of new Set(event.tags ?? [])) {
        tags.set(tag, [...tags.get(tag) ?? [], refs[i].index]);
      }
    });
    for (const [tag, indexes] of tags) {
      operation.set(key("xt", tag, versionstamp), indexes);
      if (++mutations === 500) {
        await write(operation);
        operation = kv.atomic();
        mutations = 0;
      }
    }
  }
  operation.set(key("xt-ready"), true);
  await write(operation);
}
