/**
 * In-memory stores: the reference implementations of the event store and
 * command log ports. Fast, dependency-free, and held to the same contract
 * suites as every other store — use them in tests, in development, and as a
 * browser fallback.
 *
 * @example Atomic audit with the memory stores
 * ```ts
 * import { audit, CommandBus, deciderHandler, type Decider } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * type Ping = { type: "Ping"; data: null };
 * const pinger: Decider<Ping, number, { type: "Pinged"; data: null }> = {
 *   initialState: () => 0,
 *   decide: () => [{ type: "Pinged", data: null }],
 *   evolve: (n) => n + 1,
 * };
 * const log = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog: log });
 * const bus = new CommandBus<Ping>().use(audit(log));
 * bus.register("Ping", deciderHandler({ decider: pinger, store, streamId: () => "pings" }));
 *
 * const result = await bus.dispatch({ type: "Ping", data: null });
 * const record = await log.get(result.commandId);
 * assert.equal(record?.status, "accepted");
 * assert.equal(record?.eventIds.length, 1);
 * ```
 *
 * @module
 */

export * from "./event_store.ts";
export * from "./command_log.ts";
export * from "./checkpoint_store.ts";
export * from "./snapshot_store.ts";
export * from "./projection_store.ts";
