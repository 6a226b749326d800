/**
 * Every contract suite a store keeps, from one description of the store:
 * what `deno test`, Node and a browser page all run, so a suite added here
 * is proven on every store, everywhere.
 *
 * @module
 */

import type { EventStore } from "../event_store.ts";
import { dcbContract } from "./dcb_contract.ts";
import {
  checkpointStoreContract,
  type CheckpointStoreFactory,
} from "./checkpoint_contract.ts";
import { commandLogContract, type CommandLogFactory } from "./command_log_contract.ts";
import type { ContractCase } from "./contract.ts";
import { type DamageKit, eventStoreDamageContract } from "./damage_contract.ts";
import { eventStoreContract, type EventStoreFactory } from "./event_store_contract.ts";
import {
  exactlyOnceContract,
  type ExactlyOnceContractOptions,
} from "./exactly_once_contract.ts";
import {
  projectionContract,
  type ProjectionFixtureFactory,
  streamHeads,
} from "./projection_contract.ts";
import { snapshotStoreContract, type SnapshotStoreFactory } from "./snapshot_contract.ts";

/**
 * How to make fresh, empty stores of one kind. Each factory is called once
 * per case; each case closes what it made. Leave out what the store does
 * not have.
 *
 * @example The memory stores
 * ```ts
 * import type { StoreSuiteKit } from "@verdict/verdict/testing";
 * import {
 *   MemoryCheckpointStore,
 *   MemoryCommandLog,
 *   MemoryDocumentStore,
 *   MemoryEventStore,
 *   MemorySnapshotStore,
 * } from "@verdict/verdict/memory";
 *
 * const memory: StoreSuiteKit = {
 *   events: () => new MemoryEventStore(),
 *   eventsWithLog: () => new MemoryEventStore({ commandLog: new MemoryCommandLog() }),
 *   documents: (projections) => {
 *     const documents = new MemoryDocumentStore();
 *     const events = new MemoryEventStore({ inlineProjections: { store: documents, projections } });
 *     return { events, documents, close: () => events.close() };
 *   },
 *   commandLog: () => new MemoryCommandLog(),
 *   checkpoints: () => new MemoryCheckpointStore(),
 *   snapshots: () => new MemorySnapshotStore(),
 * };
 * ```
 */
export interface StoreSuiteKit<S extends EventStore = EventStore> {
  /** An event store without a command log. */
  readonly events: EventStoreFactory;
  /** An event store whose `commandLog` commits with its appends (atomic audit). */
  readonly eventsWithLog?: EventStoreFactory;
  /**
   * An event store running `projections` inline, and the document store
   * beside it in the same database.
   */
  readonly documents?: ProjectionFixtureFactory;
  /** How to damage stored events, for the damage suite: `events` makes the store. */
  readonly damage?: { readonly events: () => S | Promise<S>; readonly kit: DamageKit<S> };
  /** A command log. */
  readonly commandLog?: CommandLogFactory;
  /** A checkpoint store. */
  readonly checkpoints?: CheckpointStoreFactory;
  /** A snapshot store. */
  readonly snapshots?: SnapshotStoreFactory;
  /**
   * Whether the event stores keep tags and check append conditions
   * (`readQuery`): then the DCB suite runs on them too.
   */
  readonly queries?: boolean;
}

/**
 * Options of {@linkcode storeSuites}.
 *
 * @example A store with a lower payload limit, and a small soak
 * ```ts
 * import type { StoreSuiteOptions } from "@verdict/verdict/testing";
 *
 * const options: StoreSuiteOptions = { maxPayloadBytes: 60_000, exactlyOnce: { commands: 200 } };
 * ```
 */
export interface StoreSuiteOptions {
  /** The largest payload the store takes (see `eventStoreContract`); default 1 MiB. */
  readonly maxPayloadBytes?: number;
  /** Concurrent writers in the race cases (default 16). */
  readonly writers?: number;
  /** The size of the exactly-once soak (see `exactlyOnceContract`). */
  readonly exactlyOnce?: ExactlyOnceContractOptions;
}

/**
 * Every suite the kit's stores can run, each named after the store:
 * the event-store contract (alone, with its command log, with inline
 * projections), the exactly-once contract under faults, the damage contract,
 * the document-projection contract, and the command-log, checkpoint and
 * snapshot contracts. Run each suite as a test, or all of them with
 * `runContract` where no test runner is at hand.
 *
 * @example Under `deno test`
 * ```ts
 * import { storeSuites } from "@verdict/verdict/testing";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const suites = storeSuites("memory", {
 *   events: () => new MemoryEventStore(),
 *   commandLog: () => new MemoryCommandLog(),
 * });
 * for (const [suite, cases] of suites) {
 *   Deno.test(`the ${suite} keeps its contract`, async (t) => {
 *     for (const c of cases) await t.step(c.name, c.run);
 *   });
 * }
 * ```
 */
export function storeSuites<S extends EventStore>(
  name: string,
  kit: StoreSuiteKit<S>,
  options: StoreSuiteOptions = {},
): [suite: string, cases: ContractCase[]][] {
  const contract = { maxPayloadBytes: options.maxPayloadBytes, writers: options.writers };
  const suites: [string, ContractCase[]][] = [
    [`${name} event store`, eventStoreContract(kit.events, contract)],
  ];
  if (kit.eventsWithLog) {
    suites.push(
      [
        `${name} event store with its command log`,
        eventStoreContract(kit.eventsWithLog, contract),
      ],
      [
        `${name} event store with its command log, under faults`,
        exactlyOnceContract(kit.eventsWithLog, options.exactlyOnce),
      ],
    );
  }
  const documents = kit.documents;
  if (documents) {
    suites.push(
      [
        `${name} event store with inline projections`,
        eventStoreContract(async () => (await documents([streamHeads])).events, contract),
      ],
      [`${name} document store`, projectionContract(documents)],
    );
  }
  if (kit.damage) {
    suites.push([
      `${name} event store on damaged data`,
      eventStoreDamageContract(kit.damage.events, kit.damage.kit),
    ]);
  }
  if (kit.commandLog) {
    suites.push([
      `${name} command log`,
      commandLogContract(kit.commandLog, { maxPayloadBytes: options.maxPayloadBytes }),
    ]);
  }
  if (kit.checkpoints) {
    suites.push([`${name} checkpoint store`, checkpointStoreContract(kit.checkpoints)]);
  }
  if (kit.snapshots) {
    suites.push([`${name} snapshot store`, snapshotStoreContract(kit.snapshots)]);
  }
  if (kit.queries) {
    suites.push([
      `${name} event store: tags, queries and append conditions`,
      dcbContract(kit.events, { withLog: kit.eventsWithLog }),
    ]);
  }
  return suites;
}
