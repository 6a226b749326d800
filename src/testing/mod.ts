/**
 * The test kit: a given/when/then spec for deciders, and the contract suites
 * that every store — the built-in ones and your own — must pass. The suites
 * are plain async cases that import no test runner, so the same suite runs
 * under `deno test`, under Node's test runner and inside a browser page.
 *
 * @example Prove your own store under `deno test`
 * ```ts ignore
 * import { commandLogContract, eventStoreContract } from "@verdict/verdict/testing";
 * import { MyEventStore, MyCommandLog } from "./my_store.ts";
 *
 * Deno.test("my event store keeps the contract", async (t) => {
 *   for (const c of eventStoreContract(() => new MyEventStore())) await t.step(c.name, c.run);
 * });
 * Deno.test("my command log keeps the contract", async (t) => {
 *   for (const c of commandLogContract(() => new MyCommandLog())) await t.step(c.name, c.run);
 * });
 * ```
 *
 * @module
 */

export * from "./assert.ts";
export * from "./contract.ts";
export * from "./decider_spec.ts";
export * from "./event_store_contract.ts";
export * from "./damage_contract.ts";
export * from "./chaos.ts";
export * from "./exactly_once_contract.ts";
export * from "./command_log_contract.ts";
export * from "./manual_clock.ts";
export * from "./checkpoint_contract.ts";
export * from "./snapshot_contract.ts";
export * from "./projection_contract.ts";
export * from "./store_suites.ts";
export * from "./dcb_contract.ts";
