/**
 * What a command is decided by, and on which streams: the definition a
 * server's `deciderHandler` and a page's `SyncClient` share. One stream is
 * named by `streamId`; several are named by `streams`, and one
 * {@linkcode MultiStreamDecider} decides on all their states at once.
 *
 * @module
 */

import type { Decider } from "./decider.ts";

/**
 * What a command requires of a stream before it is decided: `"exists"`, that
 * the stream has events (else the command is rejected with the code
 * `stream_not_found`); `"absent"`, that it has none (else `stream_exists`).
 * The append checks the stream's version, so a stream created or written
 * between the read and the append makes the command decide again.
 *
 * @example
 * ```ts
 * import type { StreamRequirement } from "@verdict/verdict";
 *
 * const toAddAnItem: StreamRequirement = "exists";
 * ```
 */
export type StreamRequirement = "exists" | "absent";

/**
 * A stream a command acts on, with what it requires of it.
 *
 * @example
 * ```ts
 * import type { StreamTarget } from "@verdict/verdict";
 *
 * const list: StreamTarget = { streamId: "list-groceries", require: "exists" };
 * ```
 */
export interface StreamTarget {
  /** The stream's id. */
  readonly streamId: string;
  /** What the stream must be for the command to be decided (default: anything). */
  readonly require?: StreamRequirement;
}

/**
 * How a stream's state is built from its events: a decider's
 * `initialState` and `evolve` (any {@linkcode Decider} is one).
 *
 * @example
 * ```ts
 * import { fold, type StateFold } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const count: StateFold<number, { type: string }> = {
 *   initialState: () => 0,
 *   evolve: (n) => n + 1,
 * };
 * assert.equal(fold(count, [{ type: "A" }, { type: "B" }]), 2);
 * ```
 */
export interface StateFold<S, E> {
  /** The state of a stream that has no events yet. */
  initialState(): S;
  /** Applies one event to the state. Must be pure. */
  evolve(state: S, event: E): S;
}

/**
 * The domain logic of a command over several streams: each stream has a
 * name, `decide` sees every stream's state by its name and returns the
 * events for each name's stream. All of them commit in one append, and only
 * if none of the streams changed since they were read.
 *
 * @typeParam C The commands it decides.
 * @typeParam S The state of each named stream, as a record.
 * @typeParam E The events it produces and folds.
 *
 * @example A transfer that cannot create money
 * ```ts
 * import {
 *   type Command,
 *   CommandBus,
 *   CommandRejectedError,
 *   deciderHandler,
 *   type MultiStreamDecider,
 *   type StateFold,
 * } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type Transfer = Command<"Transfer", { from: string; to: string; amount: number }>;
 * type Moved = { type: "Opened" | "Sent" | "Received"; data: { amount: number } };
 * const account: StateFold<number, Moved> = {
 *   initialState: () => 0,
 *   evolve: (balance, event) =>
 *     balance + (event.type === "Sent" ? -1 : 1) * event.data.amount,
 * };
 * const transfer: MultiStreamDecider<Transfer, { from: number; to: number }, Moved> = {
 *   states: { from: account, to: account },
 *   decide(command, { from }) {
 *     const { amount } = command.data;
 *     if (from < amount) throw new CommandRejectedError("insufficient funds");
 *     return {
 *       from: [{ type: "Sent", data: { amount } }],
 *       to: [{ type: "Received", data: { amount } }],
 *     };
 *   },
 * };
 *
 * const store = new MemoryEventStore();
 * const bus = new CommandBus<Transfer>().register("Transfer", deciderHandler({
 *   decider: transfer,
 *   store,
 *   streams: (command) => ({
 *     from: { streamId: `account-${command.data.from}`, require: "exists" },
 *     to: { streamId: `account-${command.data.to}`, require: "exists" },
 *   }),
 * }));
 *
 * await store.appendToStream("account-a", [{ type: "Opened", data: { amount: 0 } }]);
 * await store.appendToStream("account-b", [{ type: "Opened", data: { amount: 0 } }]);
 * const poor = await bus.dispatch({ type: "Transfer", data: { from: "a", to: "b", amount: 1000 } });
 * assert.equal(poor.status, "rejected");
 * const nowhere = await bus.dispatch({ type: "Transfer", data: { from: "a", to: "zz", amount: 0 } });
 * assert.equal(nowhere.status === "rejected" && nowhere.reason.code, "stream_not_found");
 * ```
 */
export interface MultiStreamDecider<C, S extends object, E> {
  /** How each named stream's state is built. */
  readonly states: { readonly [K in keyof S]: StateFold<S[K], E> };
  /**
   * Decides on every stream's state: the events for each name's stream (a
   * name left out gets none), or throws a rejection. Must be pure.
   */
  decide(
    command: C,
    states: Readonly<NoInfer<S>>,
  ): { readonly [K in keyof NoInfer<S>]?: readonly E[] };
}

/**
 * A command decided on one stream: its decider, and the stream.
 *
 * @example
 * ```ts
 * import type { Command, Decider, SingleStreamDefinition } from "@verdict/verdict";
 *
 * type AddItem = Command<"AddItem", { listId: string; item: string }>;
 * type Added = { type: "ItemAdded"; data: { item: string } };
 * const list: Decider<AddItem, string[], Added> = {
 *   initialState: () => [],
 *   decide: (command) => [{ type: "ItemAdded", data: { item: command.data.item } }],
 *   evolve: (items, event) => [...items, event.data.item],
 * };
 * const addItem: SingleStreamDefinition<AddItem, string[], Added> = {
 *   decider: list,
 *   streamId: (command) => ({ streamId: `list-${command.data.listId}`, require: "exists" }),
 * };
 * ```
 */
export interface SingleStreamDefinition<C, S, E> {
  /** The domain logic. */
  readonly decider: Decider<C, S, E>;
  /** The stream the command acts on: its id, or its id and what it requires of it. */
  streamId(command: C): string | StreamTarget;
}

/**
 * A command decided on several streams: its {@linkcode MultiStreamDecider},
 * and the stream behind each name.
 *
 * @example
 * ```ts
 * import type { Command, MultiStreamDefinition, MultiStreamDecider } from "@verdict/verdict";
 *
 * type Move = Command<"Move", { from: string; to: string }>;
 * const box = { initialState: () => 0, evolve: (n: number) => n + 1 };
 * const move: MultiStreamDecider<Move, { from: number; to: number }, { type: "Moved" }> = {
 *   states: { from: box, to: box },
 *   decide: () => ({ from: [{ type: "Moved" }], to: [{ type: "Moved" }] }),
 * };
 * const definition: MultiStreamDefinition<Move, { from: number; to: number }, { type: "Moved" }> = {
 *   decider: move,
 *   streams: (command) => ({ from: `box-${command.data.from}`, to: `box-${command.data.to}` }),
 * };
 * ```
 */
export interface MultiStreamDefinition<C, S extends object, E> {
  /** The domain logic over the named streams. */
  readonly decider: MultiStreamDecider<C, S, E>;
  /**
   * The stream behind each name for this command: its id, or its id and
   * what it requires of it. Two names on one stream are refused with the
   * code `same_stream`.
   */
  streams(command: C): { readonly [K in keyof NoInfer<S>]: string | StreamTarget };
}

/**
 * Either kind of definition: what `SyncClient.register` takes, and what a
 * `deciderHandler` is built from.
 *
 * @example
 * ```ts
 * import type { Command, Decider, DeciderDefinition } from "@verdict/verdict";
 *
 * type Ping = Command<"Ping", null>;
 * const pinger: Decider<Ping, number, { type: "Pinged" }> = {
 *   initialState: () => 0,
 *   decide: () => [{ type: "Pinged" }],
 *   evolve: (n) => n + 1,
 * };
 * const definitions: Record<string, DeciderDefinition<Ping, { type: "Pinged" }>> = {
 *   Ping: { decider: pinger, streamId: () => "pings" },
 * };
 * ```
 */
export type DeciderDefinition<C, E> =
  // deno-lint-ignore no-explicit-any -- each definition's state type is its own
  | SingleStreamDefinition<C, any, E>
  // deno-lint-ignore no-explicit-any -- each definition's state type is its own
  | MultiStreamDefinition<C, any, E>;
