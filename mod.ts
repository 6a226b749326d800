/**
 * verdict: event sourcing for TypeScript. Write domain logic once as pure
 * deciders, run commands through a bus with middleware, record every
 * command's whole life with the audit middleware, and keep the same
 * aggregates on any store — memory, PostgreSQL, Deno KV or IndexedDB.
 *
 * This entry is the core: no runtime-specific code and no store, so it runs
 * in Deno, Node and the browser alike.
 *
 * @example A bank account, end to end
 * ```ts
 * import {
 *   CommandBus,
 *   CommandRejectedError,
 *   type Decider,
 *   deciderHandler,
 * } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type Command =
 *   | { type: "Deposit"; data: { id: string; amount: number } }
 *   | { type: "Withdraw"; data: { id: string; amount: number } };
 * type Event =
 *   | { type: "Deposited"; data: { amount: number } }
 *   | { type: "Withdrew"; data: { amount: number } };
 *
 * const account: Decider<Command, number, Event> = {
 *   initialState: () => 0,
 *   decide(command, balance) {
 *     if (command.type === "Withdraw" && command.data.amount > balance) {
 *       throw new CommandRejectedError("insufficient funds");
 *     }
 *     return [{
 *       type: command.type === "Deposit" ? "Deposited" : "Withdrew",
 *       data: { amount: command.data.amount },
 *     }];
 *   },
 *   evolve: (balance, event) =>
 *     event.type === "Deposited"
 *       ? balance + event.data.amount
 *       : balance - event.data.amount,
 * };
 *
 * const handler = deciderHandler({
 *   decider: account,
 *   store: new MemoryEventStore(),
 *   streamId: (command) => `account-${command.data.id}`,
 * });
 * const bus = new CommandBus<Command>()
 *   .register("Deposit", handler)
 *   .register("Withdraw", handler);
 *
 * await bus.dispatch({ type: "Deposit", data: { id: "1", amount: 100 } });
 * const refused = await bus.dispatch({ type: "Withdraw", data: { id: "1", amount: 500 } });
 * assert.equal(refused.status, "rejected");
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export * from "./src/uuid.ts";
export * from "./src/clock.ts";
export * from "./src/event.ts";
export {
  type AppendCondition,
  eventMatchesQuery,
  type EventQuery,
  type EventQueryItem,
} from "./src/event_query.ts";
export * from "./src/decider.ts";
export * from "./src/decider_definition.ts";
export * from "./src/decider_handler.ts";
export * from "./src/state_cache.ts";
export type { RetryPolicy } from "./src/retry.ts";
// The ports, each in a file named after it.
export * from "./src/event_store.ts";
export * from "./src/command_log.ts";
export * from "./src/checkpoint_store.ts";
export type { Snapshot, SnapshotPolicy, SnapshotStore } from "./src/snapshot_store.ts";
export * from "./src/document_store.ts";
export * from "./src/consumer_lock.ts";
export * from "./src/stores.ts";
// The bus, its results and its middleware.
export * from "./src/command_bus.ts";
export * from "./src/command_result.ts";
export { NextCalledTwiceError } from "./src/compose.ts";
export * from "./src/audit.ts";
export { type AuditedContext, AuditNotAtomicError } from "./src/atomic_audit.ts";
export * from "./src/middleware/validation.ts";
export * from "./src/middleware/correlation.ts";
export * from "./src/middleware/idempotency.ts";
export * from "./src/middleware/timeout.ts";
export * from "./src/middleware/observe.ts";
// The read side.
export * from "./src/read_side/follow.ts";
export * from "./src/read_side/subscription.ts";
export * from "./src/read_side/projection.ts";
export * from "./src/read_side/document_projection.ts";
export * from "./src/read_side/document_projection_runner.ts";
export * from "./src/upcasting.ts";
