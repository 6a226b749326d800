/**
 * The document-projection contract suite: inline projections inside an
 * event store's appends, and the document store that keeps their
 * documents and runs async ones.
 *
 * @module
 */

import { ConcurrencyError } from "../errors.ts";
import type { Event, NewEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import type {
  DocumentProjection,
  ProjectedEvent,
} from "../read_side/document_projection.ts";
import type { DocumentStore } from "../document_store.ts";
import { DocumentProjectionRunner } from "../read_side/document_projection_runner.ts";
import { check, checkEqual, checkRejects } from "./assert.ts";
import type { ContractCase } from "./contract.ts";

/**
 * An event store with inline projections and the document store that
 * keeps their documents, in one database, for one case.
 *
 * @example
 * ```ts
 * import type { ProjectionFixture } from "@verdict/verdict/testing";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 *
 * const documents = new MemoryDocumentStore();
 * const fixture: ProjectionFixture = {
 *   events: new MemoryEventStore({ inlineProjections: { store: documents, projections: [] } }),
 *   documents,
 *   close: () => Promise.resolve(),
 * };
 * ```
 */
export interface ProjectionFixture {
  /** The event store, running the inline projections it was given. */
  readonly events: EventStore;
  /** The document store of the same database. */
  readonly documents: DocumentStore;
  /** Releases both. */
  close(): Promise<void>;
}

/**
 * Makes a fresh, empty event store running `inline` as inline projections,
 * and its document store.
 *
 * @example
 * ```ts
 * import type { ProjectionFixtureFactory } from "@verdict/verdict/testing";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 *
 * const factory: ProjectionFixtureFactory = (projections) => {
 *   const documents = new MemoryDocumentStore();
 *   const events = new MemoryEventStore({ inlineProjections: { store: documents, projections } });
 *   return { events, documents, close: () => events.close() };
 * };
 * ```
 */
export type ProjectionFixtureFactory = (
  inline: readonly DocumentProjection[],
) => ProjectionFixture | Promise<ProjectionFixture>;

/**
 * Options of {@linkcode projectionContract}.
 *
 * @example A document store that no event store writes inline
 * ```ts
 * import type { ProjectionContractOptions } from "@verdict/verdict/testing";
 *
 * const options: ProjectionContractOptions = { inline: false };
 * ```
 */
export interface ProjectionContractOptions {
  /**
   * `false` for a document store no event store of the same database
   * writes inline (a read model in the browser, fed by `apply`): the cases
   * of inline projections are left out; every other case runs.
   */
  readonly inline?: boolean;
}

/**
 * A simple inline projection — each stream's last version and event type —
 * for running the event-store contract on a store with inline projections
 * (every append then also writes a document).
 *
 * @example
 * ```ts
 * import { eventStoreContract, runContract, streamHeads } from "@verdict/verdict/testing";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(eventStoreContract(() =>
 *   new MemoryEventStore({
 *     inlineProjections: { store: new MemoryDocumentStore(), projections: [streamHeads] },
 *   })
 * ));
 * assert.ok(results.every((r) => r.passed));
 * ```
 */
export const streamHeads: DocumentProjection<Event, { version: number; type: string }> = {
  name: "stream-heads",
  documentId: (event) => event.streamId,
  evolve: (_, event) => ({ version: event.version, type: event.type }),
};

type Money =
  | { type: "Deposited"; data: { amount: number } }
  | { type: "Withdrawn"; data: { amount: number } }
  | { type: "Closed"; data: null }
  | { type: "Moved"; data: { from: string; to: string; amount: number } }
  | { type: "Noted"; data: { text: string } }
  | { type: "Boom"; data: null };

interface Account {
  balance: number;
  events: number;
}

/** Balances per stream; `Closed` deletes the document, `Boom` throws. */
const balances: DocumentProjection<Money, Account> = {
  name: "balances",
  eventTypes: ["Deposited", "Withdrawn", "Closed", "Boom"],
  documentId: (event) => event.streamId,
  evolve(account, event) {
    const current = account ?? { balance: 0, events: 0 };
    switch (event.type) {
      case "Deposited":
        return {
          balance: current.balance + event.data.amount,
          events: current.events + 1,
        };
      case "Withdrawn":
        return {
          balance: current.balance - event.data.amount,
          events: current.events + 1,
        };
      case "Closed":
        return undefined;
      default:
        throw new Error("evolve refused the event");
    }
  },
};

/** One shared document counting every event of every stream. */
const totals: DocumentProjection<Money, { count: number }> = {
  name: "totals",
  documentId: (event) => (event.type === "Noted" ? undefined : "all"),
  evolve: (total) => ({ count: (total?.count ?? 0) + 1 }),
};

/** One event, two documents. */
const moves: DocumentProjection<Money, number> = {
  name: "moves",
  eventTypes: ["Moved"],
  documentId: (event) =>
    event.type === "Moved" ? [event.data.from, event.data.to] : undefined,
  evolve: (net, event, id) =>
    event.type === "Moved"
      ? (net ?? 0) + (id === event.data.from ? -event.data.amount : event.data.amount)
      : net,
};

const deposit = (amount: number): NewEvent<Money> => ({
  type: "Deposited",
  data: { amount },
});

/**
 * The cases every store with document projections must pass: an inline
 * projection's documents change in the same transaction as the events (or
 * not at all), concurrent appends lose no update, and the document store
 * reads, lists, applies (documents and position together, exactly once)
 * and resets; an async runner builds the same documents.
 *
 * @example
 * ```ts
 * import { projectionContract, runContract } from "@verdict/verdict/testing";
 * import { MemoryEventStore, MemoryDocumentStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const results = await runContract(projectionContract((projections) => {
 *   const documents = new MemoryDocumentStore();
 *   const events = new MemoryEventStore({ inlineProjections: { store: documents, projections } });
 *   return { events, documents, close: () => events.close() };
 * }));
 * assert.ok(results.every((r) => r.passed));
 * ```
 */
export function projectionContract(
  factory: ProjectionFixtureFactory,
  options: ProjectionContractOptions = {},
): ContractCase[] {
  const cases: ContractCase[] = [];
  const test = (
    name: string,
    inline: readonly DocumentProjection[],
    body: (fixture: ProjectionFixture) => Promise<void>,
  ) =>
    (options.inline === false && inline.length > 0) || cases.push({
      name,
      async run() {
        const fixture = await factory(inline);
        try {
          await body(fixture);
        } finally {
          await fixture.close();
        }
      },
    });
  const all = [balances, totals, moves] as DocumentProjection[];

  test(
    "an inline projection's document changes with the append that caused it",
    all,
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10), deposit(5)]);
      checkEqual(
        await documents.get("balances", "a"),
        { balance: 15, events: 2 },
        "balance",
      );
      await events.appendToStream("a", [{ type: "Withdrawn", data: { amount: 4 } }], {
        expectedVersion: 2,
      });
      checkEqual(
        await documents.get("balances", "a"),
        { balance: 11, events: 3 },
        "after",
      );
      checkEqual(await documents.get("totals", "all"), { count: 3 }, "totals");
    },
  );

  test(
    "an append refused for its expected version changes no document",
    all,
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10)]);
      const error = await checkRejects(
        events.appendToStream("a", [deposit(99)], { expectedVersion: "no_stream" }),
        "a second creation",
      );
      check(error instanceof ConcurrencyError, `a ConcurrencyError, got ${error}`);
      checkEqual(
        await documents.get("balances", "a"),
        { balance: 10, events: 1 },
        "balance",
      );
      checkEqual(await documents.get("totals", "all"), { count: 1 }, "totals");
    },
  );

  test(
    "an evolve that throws fails the append: no event and no document is written",
    all,
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10)]);
      await checkRejects(
        events.appendToStreams([
          { streamId: "b", events: [deposit(1)] },
          { streamId: "a", events: [deposit(2), { type: "Boom", data: null }] },
        ]),
        "an append whose projection throws",
      );
      checkEqual(await events.streamVersion("a"), 1, "stream a's version");
      checkEqual(await events.streamVersion("b"), 0, "stream b's version");
      checkEqual((await events.readAll()).length, 1, "events in the log");
      checkEqual(await documents.get("balances", "a"), { balance: 10, events: 1 }, "a");
      checkEqual(await documents.get("balances", "b"), undefined, "b");
      checkEqual(await documents.get("totals", "all"), { count: 1 }, "totals");
    },
  );

  test(
    "a multi-stream append changes every stream's documents, and one event can change two",
    all,
    async ({ events, documents }) => {
      await events.appendToStreams([
        { streamId: "a", events: [deposit(7)] },
        { streamId: "b", events: [deposit(3)] },
        {
          streamId: "transfer-1",
          events: [{ type: "Moved", data: { from: "a", to: "b", amount: 2 } }],
        },
      ]);
      checkEqual(await documents.get("balances", "a"), { balance: 7, events: 1 }, "a");
      checkEqual(await documents.get("balances", "b"), { balance: 3, events: 1 }, "b");
      checkEqual(await documents.get("moves", "a"), -2, "moves out of a");
      checkEqual(await documents.get("moves", "b"), 2, "moves into b");
      checkEqual(await documents.get("totals", "all"), { count: 3 }, "totals");
    },
  );

  test(
    "evolve returning undefined deletes the document",
    all,
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10)]);
      await events.appendToStream("a", [{ type: "Closed", data: null }]);
      checkEqual(await documents.get("balances", "a"), undefined, "a closed account");
      checkEqual(await documents.list("balances"), [], "balances");
    },
  );

  test(
    "events outside the type filter, or with no document id, change nothing",
    all,
    async ({ events, documents }) => {
      await events.appendToStream("a", [{ type: "Noted", data: { text: "hello" } }]);
      checkEqual(await documents.list("balances"), [], "balances");
      checkEqual(await documents.list("totals"), [], "totals");
      checkEqual(await documents.list("moves"), [], "moves");
    },
  );

  test(
    "16 concurrent appends to 16 streams that all change one document lose no update",
    all,
    async ({ events, documents }) => {
      await Promise.all(
        Array.from(
          { length: 16 },
          (_, i) =>
            events.appendToStream(`s-${i}`, [deposit(1)], {
              expectedVersion: "no_stream",
            }),
        ),
      );
      checkEqual(await documents.get("totals", "all"), { count: 16 }, "totals");
      checkEqual((await documents.list("balances")).length, 16, "balances");
    },
  );

  test(
    "a retried append with the same event ids is not projected twice",
    all,
    async ({ events, documents }) => {
      const batch = [{ ...deposit(5), id: "0195b3c0-0000-7000-8000-0000000000a1" }];
      await events.appendToStream("a", batch, { expectedVersion: "no_stream" });
      await events.appendToStream("a", batch, { expectedVersion: "no_stream" });
      checkEqual(
        await documents.get("balances", "a"),
        { balance: 5, events: 1 },
        "balance",
      );
      checkEqual(await documents.get("totals", "all"), { count: 1 }, "totals");
    },
  );

  const seen: ProjectedEvent[] = [];
  const spy: DocumentProjection = {
    name: "spy",
    documentId: (event) => {
      seen.push(event);
      return undefined;
    },
    evolve: () => undefined,
  };
  test(
    "an inline projection sees each event as recorded, without its position",
    [spy],
    async ({ events }) => {
      seen.length = 0;
      await events.appendToStream("a", [
        { type: "Noted", data: { text: "ünï 🙂" }, metadata: { correlationId: "c-1" } },
      ]);
      const [recorded] = await events.readStream("a");
      checkEqual(seen.length, 1, "events seen");
      const { position: _position, ...expected } = recorded;
      checkEqual({ ...seen[0] }, expected, "the event seen");
    },
  );

  test(
    "documents come back as copies: changing one read changes nothing stored",
    [],
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10)]);
      await documents.apply(balances as DocumentProjection, await events.readAll());
      const read = await documents.get<Account>("balances", "a");
      read!.balance = 1_000_000;
      const [listed] = await documents.list<Account>("balances");
      listed.document.balance = 1_000_000;
      checkEqual(
        await documents.get("balances", "a"),
        { balance: 10, events: 1 },
        "balance",
      );
    },
  );

  test(
    "an unknown document reads as undefined, an unknown projection lists nothing",
    [],
    async ({ documents }) => {
      checkEqual(await documents.get("balances", "nobody"), undefined, "get");
      checkEqual(await documents.list("nothing"), [], "list");
      checkEqual(await documents.position("nothing"), 0, "position");
    },
  );

  test(
    "bad names, ids and list options are refused with a TypeError or RangeError",
    [],
    async ({ documents }) => {
      for (
        const [what, call] of [
          ["an empty projection name", () => documents.get("", "a")],
          ["an empty document id", () => documents.get("balances", "")],
          ["a negative limit", () => documents.list("balances", { limit: -1 })],
          ["a fractional limit", () => documents.list("balances", { limit: 1.5 })],
        ] as const
      ) {
        const error = await checkRejects(call(), what);
        check(
          error instanceof TypeError || error instanceof RangeError,
          `${what}: a TypeError or RangeError, got ${error}`,
        );
      }
    },
  );

  const special = [
    "ünï 🙂",
    "a/b\\c",
    "quote ' and \" and ; drop table x; --",
    "%_*[]",
    "x".repeat(1_000),
  ];
  const echo: DocumentProjection<Money, { id: string; n: number }> = {
    name: "echo",
    eventTypes: ["Noted"],
    documentId: (event) => event.type === "Noted" ? event.data.text : undefined,
    evolve: (document, _event, id) => ({ id, n: (document?.n ?? 0) + 1 }),
  };
  test(
    "special document ids round-trip, and list pages through them in id order, each once",
    [],
    async ({ events, documents }) => {
      const ids = [...special, ...Array.from({ length: 20 }, (_, i) => `id-${i}`)];
      await events.appendToStream(
        "notes",
        ids.map((text) => ({ type: "Noted", data: { text } })),
      );
      await documents.apply(echo as DocumentProjection, await events.readAll());
      for (const id of special) {
        checkEqual(
          await documents.get("echo", id),
          { id, n: 1 },
          `document ${id.slice(0, 20)}`,
        );
      }
      const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      checkEqual(
        (await documents.list("echo")).map((d) => d.id),
        sorted,
        "every id, in order",
      );
      const paged: string[] = [];
      let after: string | undefined;
      while (true) {
        const page = await documents.list("echo", { after, limit: 4 });
        paged.push(...page.map((d) => d.id));
        if (page.length < 4) break;
        after = page[page.length - 1].id;
      }
      checkEqual(paged, sorted, "pages of 4");
    },
  );

  test(
    "apply moves documents and position together, and a batch applied twice changes nothing",
    [],
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10), deposit(5)]);
      await events.appendToStream("b", [deposit(1)]);
      const log = await events.readAll<Money>();
      await documents.apply(balances as DocumentProjection, log.slice(0, 2));
      checkEqual(await documents.position("balances"), log[1].position, "position");
      checkEqual(await documents.get("balances", "a"), { balance: 15, events: 2 }, "a");
      await documents.apply(balances as DocumentProjection, log);
      await documents.apply(balances as DocumentProjection, log);
      checkEqual(await documents.position("balances"), log[2].position, "position");
      checkEqual(await documents.get("balances", "a"), { balance: 15, events: 2 }, "a");
      checkEqual(await documents.get("balances", "b"), { balance: 1, events: 1 }, "b");
    },
  );

  test(
    "an apply whose evolve throws changes neither documents nor position",
    [],
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10)]);
      await events.appendToStream("a", [deposit(1), { type: "Boom", data: null }]);
      const log = await events.readAll<Money>();
      await documents.apply(balances as DocumentProjection, log.slice(0, 1));
      await checkRejects(
        documents.apply(balances as DocumentProjection, log),
        "an apply whose evolve throws",
      );
      checkEqual(await documents.position("balances"), log[0].position, "position");
      checkEqual(await documents.get("balances", "a"), { balance: 10, events: 1 }, "a");
    },
  );

  test(
    "apply refuses events out of position order",
    [],
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(1), deposit(2)]);
      const log = await events.readAll<Money>();
      const error = await checkRejects(
        documents.apply(balances as DocumentProjection, [log[1], log[0]]),
        "events out of order",
      );
      check(error instanceof TypeError, `a TypeError, got ${error}`);
      checkEqual(await documents.list("balances"), [], "documents");
    },
  );

  test(
    "reset deletes one projection's documents and position, and no other's",
    [],
    async ({ events, documents }) => {
      await events.appendToStream("a", [deposit(10)]);
      await events.appendToStream("notes", [{ type: "Noted", data: { text: "a" } }]);
      const log = await events.readAll<Money>();
      for (const projection of [...all, echo as DocumentProjection]) {
        await documents.apply(projection, log);
      }
      checkEqual(await documents.get("echo", "a"), { id: "a", n: 1 }, "echo, before");
      await documents.reset("balances");
      checkEqual(await documents.list("balances"), [], "balances after the reset");
      checkEqual(await documents.get("totals", "all"), { count: 1 }, "totals");
      checkEqual(await documents.get("echo", "a"), { id: "a", n: 1 }, "echo");
      await documents.reset("echo");
      checkEqual(await documents.position("echo"), 0, "echo's position");
      checkEqual(await documents.get("echo", "a"), undefined, "echo after its reset");
    },
  );

  test(
    "an async runner builds the same documents as the inline projection, and resumes exactly",
    all,
    async ({ events, documents }) => {
      const asyncBalances: DocumentProjection = { ...balances, name: "balances-async" };
      for (let i = 0; i < 30; i++) {
        await events.appendToStreams([
          { streamId: `acc-${i % 7}`, events: [deposit(i + 1)] },
          {
            streamId: `move-${i}`,
            events: [{
              type: "Moved",
              data: { from: `acc-${i % 7}`, to: "x", amount: 1 },
            }],
          },
        ]);
        if (i % 10 === 9) {
          await events.appendToStream(`acc-${i % 7}`, [{ type: "Closed", data: null }]);
        }
      }
      const runner = new DocumentProjectionRunner({
        store: events,
        documents,
        projection: asyncBalances,
        batchSize: 7,
        pollIntervalMs: 5,
      });
      await runner.waitUntilCaughtUp();
      await runner.stop();
      const inline = await documents.list("balances");
      checkEqual(await documents.list("balances-async"), inline, "async = inline");
      const log = await events.readAll();
      checkEqual(
        await documents.position("balances-async"),
        log.at(-1)!.position,
        "position",
      );

      // More events, a new runner: it resumes from the stored position.
      await events.appendToStream("acc-1", [deposit(100)]);
      const resumed = new DocumentProjectionRunner({
        store: events,
        documents,
        projection: asyncBalances,
        pollIntervalMs: 5,
      });
      await resumed.waitUntilCaughtUp();
      await resumed.stop();
      checkEqual(
        await documents.list("balances-async"),
        await documents.list("balances"),
        "async = inline after resuming",
      );

      // A rebuild starts from nothing and reports its progress.
      const progress: number[] = [];
      await resumed.rebuild((p) => progress.push(p.replayed));
      checkEqual(
        await documents.list("balances-async"),
        await documents.list("balances"),
        "async = inline after a rebuild",
      );
      checkEqual(progress.at(-1), (await events.readAll()).length, "events replayed");
    },
  );

  return cases;
}
