/**
 * The Deno KV event store's appends: what an append may hold within KV's
 * limits, the heads it checks, and the one atomic operation it commits.
 *
 * @module
 */

import type { AtomicOperation, Kv, KvEntry, KvEntryMaybe } from "./kv.ts";
import type {
  AppendResult,
  CommandRecord,
  Event,
  InlineProjections,
  NewEvent,
  RecordedEvent,
  StreamAppend,
} from "../../mod.ts";
import {
  type DocumentChange,
  planDocuments,
  projectedEvents,
} from "../../src/store_kit/mod.ts";
import type { KvCommandLog } from "./command_log.ts";
import type { KvDocumentStore } from "./document_store.ts";
import { getManyStrong } from "./get_many.ts";
import { KvBudget } from "./limits.ts";
import {
  COMMIT_KEY,
  type CommitEntry,
  commitKey,
  headVersion,
  indexIn,
  type KeyOf,
  positionOf,
  type StoredEvent,
} from "./event_layout.ts";

/** Where an append writes. */
export interface AppendTarget {
  readonly kv: Kv;
  readonly key: KeyOf;
  readonly commandLog?: KvCommandLog;
  readonly inline?: InlineProjections<KvDocumentStore>;
}

/**
 * What can be known before reading: keys too long, too many streams. Throws
 * a `KvLimitError` for an append KV would refuse, and returns how many
 * checks the operation makes without the given ids'.
 */
export function preflight(
  key: KeyOf,
  appends: readonly StreamAppend[],
  withRecord: boolean,
  stamped: boolean,
): number {
  const budget = new KvBudget();
  for (const append of appends) {
    budget.check(
      key("h", append.streamId),
      `the head of stream "${append.streamId}"`,
    );
    for (const event of append.events) {
      if (event.id !== undefined) {
        budget.keyOnly(key("id", event.id), `event ${event.id}`);
      }
    }
  }
  if (withRecord) {
    budget.check(key("c", "r", ""), "the command record");
  }
  if (!stamped) budget.check(key("n"), "the append notification");
  budget.assertWithin("this append");
  return budget.checks;
}

/**
 * The key of the next commit, for a handle without commit versionstamps:
 * one after the last key of the global log (whichever handle wrote it),
 * and the versionstamp of the append notification (which every commit
 * moves) that the commit must still find.
 */
export async function nextCommit(
  kv: Kv,
  key: KeyOf,
): Promise<{ key: string; token: string | null }> {
  const token = await kv.get(key("n"), { consistency: "strong" });
  let last = 0;
  for await (
    const entry of kv.list({ prefix: key("g") }, {
      reverse: true,
      limit: 1,
      consistency: "strong",
    })
  ) {
    const key = entry.key.at(-1);
    if (typeof key === "string" && COMMIT_KEY.test(key)) {
      last = parseInt(key.slice(0, 16), 16);
    }
  }
  return { key: commitKey(last + 1), token: token.versionstamp };
}

/**
 * The atomic operation of one attempt of an append: checks of the heads
 * (and of given ids, the commit token), the events, their id index, the new
 * heads, the global-log entry, the command record and inline documents —
 * every key within KV's limits, or a `KvLimitError` before anything is sent.
 */
export function appendOperation<E extends Event>(
  target: AppendTarget,
  appends: readonly StreamAppend<E>[],
  ids: readonly (readonly string[])[],
  actual: readonly number[],
  heads: readonly KvEntryMaybe<{ version: number }>[],
  timestamp: number,
  record: CommandRecord | undefined,
  checkIds: boolean,
  documents?: {
    changes: DocumentChange[];
    entries: KvEntryMaybe<unknown>[];
  },
  failedRecord?: KvEntry<CommandRecord>,
  numbering?: { key: string; token: string | null },
  guards?: readonly KvEntryMaybe<unknown>[],
): { operation: AtomicOperation; commit?: string } {
  const { kv, key } = target;
  const operation = kv.atomic();
  // The commit's key in the global log, when this store numbers commits.
  const numbered = numbering?.key;
  const budget = new KvBudget();
  const commit: [string, number, number][] = [];
  /**
   * Every tag and type of the append's events: their keys move with this
   * commit; each tag with the indexes in the commit of its events.
   */
  const tags = new Map<string, number[]>();
  const types = new Set<string>();
  let index = 0;
  appends.forEach((append, s) => {
    const headKey = key("h", append.streamId);
    budget.check(headKey, `the head of stream "${append.streamId}"`);
    operation.check({ key: headKey, versionstamp: heads[s].versionstamp });
    if (append.events.length === 0) return;
    append.events.forEach((event, e) => {
      const version = actual[s] + e + 1;
      const eventKey = key("s", append.streamId, version);
      const stored: StoredEvent = {
        id: ids[s][e],
        type: event.type,
        data: event.data,
        metadata: event.metadata ?? {},
        ...(event.tags === undefined ? {} : { tags: [...event.tags] }),
        timestamp,
        i: index++,
        ...(numbered ? { c: numbered } : {}),
      };
      if (event.tags !== undefined) {
        for (const tag of event.tags) {
          // The event's index in the commit (`i`, counted just above).
          const indexes = tags.get(tag) ?? [];
          if (indexes.at(-1) !== index - 1) indexes.push(index - 1);
          tags.set(tag, indexes);
        }
      }
      types.add(event.type);
      const what = `event ${e} (${event.type}) of stream "${append.streamId}"`;
      budget.set(eventKey, stored, what);
      operation.set(eventKey, stored);
      const idKey = key("id", ids[s][e]);
      budget.set(idKey, [append.streamId, version], what);
      operation.set(idKey, [append.streamId, version]);
      if (event.id !== undefined && checkIds) {
        // A writer-chosen id must still be free when the commit lands.
        budget.check(idKey, what);
        operation.check({ key: idKey, versionstamp: null });
      }
    });
    const head = { version: actual[s] + append.events.length };
    budget.set(headKey, head, `the head of stream "${append.streamId}"`);
    operation.set(headKey, head);
    commit.push([append.streamId, actual[s] + 1, append.events.length]);
  });
  for (const tag of tags.keys()) {
    budget.set(key("qt", tag), timestamp, `the key of tag "${tag}"`);
    operation.set(key("qt", tag), timestamp);
  }
  for (const type of types) {
    budget.set(key("qy", type), timestamp, `the key of event type "${type}"`);
    operation.set(key("qy", type), timestamp);
  }
  for (const guard of guards ?? []) {
    budget.check(guard.key, "a key the append condition watches");
    operation.check({ key: guard.key, versionstamp: guard.versionstamp });
  }
  if (commit.length > 0) {
    const globalKey = key("g", "00000000000000000000");
    const entry: CommitEntry = { streams: commit };
    budget.set(globalKey, entry, "the global-log entry");
    // The notification key moves with every commit: an append that numbers
    // its commit checks it, so no other commit can land in between.
    const notification = key("n");
    budget.set(notification, 0, "the append notification");
    operation.set(notification, timestamp);
    if (numbered) {
      budget.check(notification, "the append notification");
      operation.check({ key: notification, versionstamp: numbering!.token });
      operation.set(key("g", numbered), entry);
    } else {
      operation.set(key("g", kv.commitVersionstamp!()), entry);
    }
    // The tag index: per tag, the commit and its events that carry the tag.
    for (const [tag, indexes] of tags) {
      budget.set(
        key("xt", tag, "00000000000000000000"),
        indexes,
        `the index of tag "${tag}"`,
      );
      operation.set(key("xt", tag, numbered || kv.commitVersionstamp!()), indexes);
    }
  }
  if (record) target.commandLog!.addToOperation(operation, budget, record, failedRecord);
  if (documents) {
    target.inline!.store.addToOperation(
      operation,
      budget,
      documents.changes,
      documents.entries,
    );
  }
  budget.assertWithin("this append");
  return { operation, commit: numbered || undefined };
}

/**
 * Reads the documents the inline projections change and evolves them:
 * the operation checks each is still as read, so a concurrent change
 * makes the commit fail and the append try again.
 */
export async function inlineDocuments(
  inline: InlineProjections<KvDocumentStore>,
  appends: readonly StreamAppend[],
  ids: readonly (readonly string[])[],
  actual: readonly number[],
  timestamp: number,
): Promise<{ changes: DocumentChange[]; entries: KvEntryMaybe<unknown>[] }> {
  const events = projectedEvents(appends, ids, actual, timestamp);
  const plan = planDocuments(inline.projections, events);
  const entries = await inline.store.readDocuments(plan);
  return { changes: inline.store.evolveDocuments(plan, entries), entries };
}

/**
 * The heads this store last read or wrote: an append whose exact expected
 * version matches skips the read and checks the known versionstamp, so a
 * command on current state is one round trip. A stale entry only makes the
 * check fail, and the append reads the head again.
 */
export class KnownHeads {
  readonly #heads = new Map<string, { version: number; versionstamp: string }>();

  /** The heads as last seen, when every append expects exactly that version. */
  known(
    key: KeyOf,
    appends: readonly StreamAppend[],
  ): KvEntryMaybe<{ version: number }>[] | undefined {
    const heads: KvEntryMaybe<{ version: number }>[] = [];
    for (const append of appends) {
      const known = this.#heads.get(append.streamId);
      if (!known || append.expectedVersion !== known.version) return undefined;
      heads.push({
        key: key("h", append.streamId),
        value: { version: known.version },
        versionstamp: known.versionstamp,
      });
    }
    return heads;
  }

  /** Reads the heads, strongly, and remembers them. */
  async read(
    kv: Kv,
    key: KeyOf,
    appends: readonly StreamAppend[],
  ): Promise<KvEntryMaybe<{ version: number }>[]> {
    const heads = await getManyStrong<{ version: number }>(
      kv,
      appends.map((append) => key("h", append.streamId)),
    );
    heads.forEach((head, i) => {
      if (head.versionstamp !== null) {
        this.remember(appends[i].streamId, {
          version: headVersion(head, appends[i].streamId),
          versionstamp: head.versionstamp,
        });
      }
    });
    return heads;
  }

  /** Remembers a head as written or read. */
  remember(
    streamId: string,
    head: { version: number; versionstamp: string | null },
  ): void {
    if (head.versionstamp === null) return;
    if (!this.#heads.has(streamId) && this.#heads.size >= 10_000) {
      this.#heads.delete(this.#heads.keys().next().value as string);
    }
    this.#heads.set(streamId, { version: head.version, versionstamp: head.versionstamp });
  }
}

/** The results of an append committed as `commit` (its key in the global log). */
export function appendedResults<E extends Event>(
  appends: readonly StreamAppend<E>[],
  ids: readonly (readonly string[])[],
  actual: readonly number[],
  timestamp: number,
  commit: string,
): AppendResult<E>[] {
  return appends.map((append, s) => ({
    streamId: append.streamId,
    nextExpectedVersion: actual[s] + append.events.length,
    events: append.events.map((event: NewEvent<E>, e: number) => ({
      ...event,
      id: ids[s][e],
      metadata: event.metadata ?? {},
      streamId: append.streamId,
      version: actual[s] + e + 1,
      position: positionOf(commit, indexIn(appends, s, e)),
      timestamp: new Date(timestamp),
    } as RecordedEvent<E>)),
  }));
}
