/**
 * How the Deno KV event store lays out its data, and how it reads it back.
 *
 * Key layout under the store's prefix `P`:
 *
 * | key                        | value                                        |
 * | -------------------------- | -------------------------------------------- |
 * | `[P, "h", streamId]`       | the stream head `{ version }`: the concurrency token |
 * | `[P, "s", streamId, v]`    | event `v` of the stream                      |
 * | `[P, "g", versionstamp]`   | one commit's events, in order: `[streamId, firstVersion, count][]`, and a copy of the events when they fit in 60 KB |
 * | `[P, "id", eventId]`       | `[streamId, version]`: event ids are unique  |
 * | `[P, "n"]`                 | touched by every append, for watchers        |
 * | `[P, "qt", tag]`           | touched by every append of an event with the tag: what append conditions check |
 * | `[P, "qy", type]`          | touched by every append of an event of the type: what conditions on types alone check |
 * | `[P, "xt", tag, versionstamp]` | the indexes, in that commit, of its events with the tag: what queries by tag read |
 *
 * An event's global position is its commit's versionstamp (as a number)
 * times 1,024 plus its index within the commit: strictly increasing in
 * commit order, which is the order a reader of `[P, "g"]` sees.
 *
 * A handle without `commitVersionstamp` (the `@deno/kv` npm package, in
 * Node) numbers its commits itself, in the same format: one after the last
 * key of `[P, "g"]`, on the condition that `[P, "n"]` (which every commit
 * moves) has not moved since it was read — so no commit can land between,
 * and the global order stays gap-free when handles of both kinds share a
 * file. Its events carry
 * the commit's key (`c`), as their versionstamp is not it.
 *
 * @module
 */

import type { KvEntry, KvEntryMaybe, KvKey, KvKeyPart } from "./kv.ts";
import {
  type Event,
  EventDecodeError,
  type EventMetadata,
  type RecordedEvent,
  type StreamAppend,
} from "../../mod.ts";
import { storedEventProblem } from "../../src/store_kit/mod.ts";

/** The key of a part of the store's data: its prefix, then the parts. */
export type KeyOf = (...parts: KvKeyPart[]) => KvKey;

/** An event as stored under `[P, "s", streamId, version]`. */
export interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  /** The event's tags; absent when it has none. */
  readonly tags?: readonly string[];
  readonly timestamp: number;
  /** Index of the event within its commit. */
  readonly i: number;
  /**
   * The commit's key in the global log, when it is not the commit's
   * versionstamp: written through a handle without `commitVersionstamp`
   * (the `@deno/kv` npm package), which numbers commits itself.
   */
  readonly c?: string;
}

/**
 * One commit's entry in the global log: which events it wrote, in order.
 * (Entries written by earlier versions may also carry a copy of the events,
 * or be a bare array of the refs; the copy is not read.)
 */
export interface CommitEntry {
  readonly streams:
    readonly (readonly [streamId: string, firstVersion: number, count: number])[];
}

/**
 * The refs of a global-log entry, or what is wrong with it.
 */
export function commitStreams(value: unknown): CommitEntry["streams"] | string {
  const streams = Array.isArray(value)
    ? value
    : typeof value === "object" && value !== null
    ? (value as { streams?: unknown }).streams
    : undefined;
  if (!Array.isArray(streams)) return "it names no streams";
  for (const ref of streams) {
    if (
      !Array.isArray(ref) || typeof ref[0] !== "string" ||
      !Number.isSafeInteger(ref[1]) || ref[1] < 1 ||
      !Number.isSafeInteger(ref[2]) || ref[2] < 1 || ref[2] > PER_COMMIT
    ) return `a stream ref is ${JSON.stringify(ref)?.slice(0, 80)}`;
  }
  return streams as CommitEntry["streams"];
}

/** Events per commit fit below this, so positions of one commit never collide. */
export const PER_COMMIT = 1024;
/** Attempts of an append whose checks keep failing although its expectations hold. */
export const MAX_COMMIT_ATTEMPTS = 100;

/**
 * The global position of the event at `index` in the commit `versionstamp`.
 * A local or self-hosted KV stamps commits with an 8-byte counter and two
 * zero bytes; the counter times 1,024 plus the index is a plain number for
 * the first 8.7 trillion commits.
 *
 * @throws {RangeError} for a versionstamp that is not of that kind.
 */
export function positionOf(versionstamp: string, index: number): number {
  const commit = parseInt(versionstamp.slice(0, 16), 16);
  const position = commit * PER_COMMIT + index + 1;
  if (versionstamp.slice(16) !== "0000" || !Number.isSafeInteger(position)) {
    throw new RangeError(
      `Versionstamp ${versionstamp} cannot be turned into a numeric position: use a local or self-hosted KV`,
    );
  }
  return position;
}

/** The versionstamp key part of the commit holding `position`. */
export function commitOf(position: number): string {
  return commitKey(Math.floor((position - 1) / PER_COMMIT));
}

/** A commit counter written as a versionstamp is: 16 hex digits, then "0000". */
export function commitKey(counter: number): string {
  return counter.toString(16).padStart(16, "0") + "0000";
}

/** A commit's key in the global log. */
export const COMMIT_KEY: RegExp = /^[0-9a-f]{16}0000$/;

/** A stored event as a recorded event; damage is an `EventDecodeError`. */
export function decodeEvent<E extends Event>(
  entry: KvEntry<StoredEvent>,
  streamId: string,
  version: number,
): RecordedEvent<E> {
  const stored = entry.value;
  const whole = typeof stored === "object" && stored !== null;
  const index = whole && Number.isSafeInteger(stored.i) && stored.i >= 0 ? stored.i : 0;
  const numbered = whole && stored.c !== undefined;
  const commit = numbered && COMMIT_KEY.test(String(stored.c))
    ? stored.c!
    : entry.versionstamp;
  const position = positionOf(commit, index);
  const problem = !whole
    ? `it is ${stored === null ? "null" : typeof stored}, not an object`
    : index !== stored.i
    ? "its index within the commit is damaged"
    : numbered && commit !== stored.c
    ? "its commit key is damaged"
    : stored.tags !== undefined &&
        !(Array.isArray(stored.tags) &&
          stored.tags.every((tag) => typeof tag === "string"))
    ? "its tags are not a list of strings"
    : storedEventProblem({
      id: stored.id,
      type: stored.type,
      data: stored.data,
      // Metadata is always written; an event without any reads as empty.
      metadata: stored.metadata === undefined ? {} : stored.metadata,
      version,
    });
  if (problem !== undefined) {
    throw new EventDecodeError(position, stored, problem, { streamId, version });
  }
  const event = {
    id: stored.id,
    type: stored.type,
    data: stored.data,
    metadata: stored.metadata ?? {},
    streamId,
    version,
    position,
    timestamp: new Date(stored.timestamp),
  } as RecordedEvent<E>;
  return stored.tags === undefined ? event : { ...event, tags: stored.tags };
}

/** The index within its commit of event `event` of stream append `stream`. */
export function indexIn(
  appends: readonly StreamAppend[],
  stream: number,
  event: number,
): number {
  let index = event;
  for (let s = 0; s < stream; s++) index += appends[s].events.length;
  return index;
}

/**
 * The version a stream head holds: 0 for no head. A head that is there but
 * holds no valid version is damage, reported instead of read as 0 — an
 * append on it would overwrite the stream's first events.
 */
export function headVersion(head: KvEntryMaybe<unknown>, streamId: string): number {
  if (head.versionstamp === null) return 0;
  const version = (head.value as { version?: unknown } | null)?.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new EventDecodeError(
      0,
      head.value,
      `the stream's head is damaged: ${JSON.stringify(head.value)?.slice(0, 80)}`,
      { streamId },
    );
  }
  return version;
}
