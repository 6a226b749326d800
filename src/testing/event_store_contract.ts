/**
 * The event-store contract suite: what every `EventStore` must do, as plain
 * async cases that take a store factory and import no test runner.
 *
 * @module
 */

import type { ContractCase } from "./contract.ts";
import { caseList } from "./_cases.ts";
import { eventStoreDataCases } from "./event_store/data_model.ts";
import { appendCases } from "./event_store/append.ts";
import { dataCases } from "./event_store/data.ts";
import { expectedVersionCases } from "./event_store/expected_version.ts";
import { followerCases } from "./event_store/followers.ts";
import { lifecycleCases } from "./event_store/lifecycle.ts";
import { multiStreamCases } from "./event_store/multi_stream.ts";
import { readCases } from "./event_store/reads.ts";
import { retryCases } from "./event_store/retries.ts";
import type { EventStore } from "../event_store.ts";

/**
 * Makes a new, empty store for one case.
 *
 * @example A fresh store per case
 * ```ts
 * import type { EventStoreFactory } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const factory: EventStoreFactory = () => new MemoryEventStore();
 * ```
 */
export type EventStoreFactory = () => EventStore | Promise<EventStore>;

/**
 * Options of {@linkcode eventStoreContract}.
 *
 * @example Fewer racers for a slow backend
 * ```ts
 * import { eventStoreContract, type EventStoreContractOptions } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const options: EventStoreContractOptions = { writers: 8 };
 * const cases = eventStoreContract(() => new MemoryEventStore(), options);
 * ```
 */
export interface EventStoreContractOptions {
  /** Concurrent writers in the race cases (default 16). */
  readonly writers?: number;
  /**
   * The largest event payload the store accepts, in bytes of UTF-8 text
   * (default 1 MiB, which every store without a documented lower limit must
   * take). A store with a lower limit must store a payload of that size and
   * refuse a 1 MiB one with an error, writing nothing.
   */
  readonly maxPayloadBytes?: number;
}

/**
 * The cases every event store must pass. Call it with a factory that gives a
 * fresh, empty store; each case closes the store it made.
 *
 * @example Under `deno test`
 * ```ts ignore
 * import { eventStoreContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * Deno.test("memory event store keeps the contract", async (t) => {
 *   for (const c of eventStoreContract(() => new MemoryEventStore())) {
 *     await t.step(c.name, c.run);
 *   }
 * });
 * ```
 */
export function eventStoreContract(
  factory: EventStoreFactory,
  options: EventStoreContractOptions = {},
): ContractCase[] {
  const { cases, test } = caseList(factory);
  const sized = {
    writers: options.writers ?? 16,
    maxPayloadBytes: options.maxPayloadBytes,
  };
  appendCases(test, sized);
  expectedVersionCases(test, sized);
  readCases(test, sized);
  followerCases(test, sized);
  dataCases(test, sized);
  retryCases(test, sized);
  multiStreamCases(test, sized);
  lifecycleCases(test, sized);

  eventStoreDataCases(test, sized.writers);

  return cases;
}
