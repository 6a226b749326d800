/**
 * Document projections: read models made of documents (one JSON value per
 * id) that a store keeps beside its events. The same projection runs
 * **inline** — inside the append's transaction, so the read model never lags
 * or diverges from the log — or **async**, on a runner that commits each
 * batch of documents together with the projection's position, so a restart
 * neither loses nor repeats an event.
 *
 * @module
 */

import type { Event, RecordedEvent } from "../event.ts";

/**
 * What a document projection sees of an event: a recorded event without its
 * global position, which some stores (Deno KV) only learn when the append
 * commits — inline projections run before that.
 *
 * @example
 * ```ts
 * import type { ProjectedEvent } from "@verdict/verdict";
 *
 * const owner = (event: ProjectedEvent<{ type: "Opened"; data: { owner: string } }>) =>
 *   `${event.streamId}@${event.version}: ${event.data.owner}`;
 * ```
 */
export type ProjectedEvent<E extends Event = Event> = E extends Event
  ? Omit<RecordedEvent<E>, "position">
  : never;

/**
 * A read model of documents, kept per id. `documentId` says which
 * documents an event changes; `evolve` computes a document's next value from
 * its current one (`undefined` when it has none) and the event, and returns
 * `undefined` to delete it.
 *
 * Both must be pure and synchronous: an inline projection runs inside the
 * store's transaction (an IndexedDB transaction cannot wait for anything
 * else), and may be run again when a commit is retried. Documents are JSON
 * values. A projection runs either inline or async, not both.
 *
 * @example Balances per account
 * ```ts
 * import type { DocumentProjection } from "@verdict/verdict";
 *
 * type Money = { type: "Deposited" | "Withdrawn"; data: { amount: number } };
 * const balances: DocumentProjection<Money, { balance: number }> = {
 *   name: "balances",
 *   documentId: (event) => event.streamId,
 *   evolve: (account, event) => ({
 *     balance: (account?.balance ?? 0) +
 *       (event.type === "Deposited" ? event.data.amount : -event.data.amount),
 *   }),
 * };
 * ```
 */
export interface DocumentProjection<E extends Event = Event, D = unknown> {
  /** The projection's name: its documents and position are kept under it. */
  readonly name: string;
  /** The event types it reads (all when omitted). */
  readonly eventTypes?: readonly string[];
  /** The ids of the documents the event changes; `undefined` or `[]` for none. */
  documentId(event: ProjectedEvent<E>): string | readonly string[] | undefined;
  /** The document's next value; `undefined` deletes it. */
  evolve(document: D | undefined, event: ProjectedEvent<E>, id: string): D | undefined;
}
