// The contract suites are the law only if they can tell a broken store from
// a good one: each deliberately broken store here must fail the very cases
// written for its defect, and pass the rest.
import assert from "node:assert/strict";
import type {
  AppendOptions,
  AppendResult,
  CommandPage,
  CommandQuery,
  DocumentProjection,
  Event,
  EventStore,
  NewEvent,
  RecordedEvent,
  StreamAppend,
} from "@verdict/verdict";
import { encodeCommandCursor } from "@verdict/verdict/store-kit";
import {
  MemoryCommandLog,
  MemoryDocumentStore,
  MemoryEventStore,
} from "@verdict/verdict/memory";
import {
  commandLogContract,
  type ContractCase,
  eventStoreContract,
  projectionContract,
  runContract,
} from "@verdict/verdict/testing";

/** Delegates everything to a memory store; subclasses break one promise. */
class DelegatingStore implements EventStore {
  inner = new MemoryEventStore();
  appendToStream<E extends Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ): Promise<AppendResult<E>> {
    return this.inner.appendToStream(streamId, events, options);
  }
  appendToStreams<E extends Event>(
    appends: readonly StreamAppend<E>[],
    options?: Omit<AppendOptions, "expectedVersion">,
  ) {
    return this.inner.appendToStreams(appends, options);
  }
  readStream: EventStore["readStream"] = (id, options) =>
    this.inner.readStream(id, options);
  readAll: EventStore["readAll"] = (options) => this.inner.readAll(options);
  readQuery: EventStore["readQuery"] = (query, options) =>
    this.inner.readQuery(query, options);
  streamVersion = (id: string) => this.inner.streamVersion(id);
  close = () => this.inner.close();
}

class IgnoresNoStream extends DelegatingStore {
  override appendToStream<E extends Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ) {
    const expectedVersion = options?.expectedVersion === "no_stream"
      ? "any"
      : options?.expectedVersion;
    return super.appendToStream(streamId, events, { ...options, expectedVersion });
  }
}

class HalfCommitsMultiStream extends DelegatingStore {
  override async appendToStreams<E extends Event>(appends: readonly StreamAppend<E>[]) {
    const results: AppendResult<E>[] = [];
    for (const append of appends) {
      results.push(
        await this.inner.appendToStream(append.streamId, append.events, {
          expectedVersion: append.expectedVersion,
        }),
      );
    }
    return results;
  }
}

class ReportsMinusOne extends DelegatingStore {
  override async appendToStream<E extends Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ) {
    try {
      return await super.appendToStream(streamId, events, options);
    } catch (error) {
      if (error instanceof Error && "actual" in error) {
        Object.defineProperty(error, "actual", { value: -1 });
      }
      throw error;
    }
  }
}

class LosesConcurrentWrites extends DelegatingStore {
  // Reads the version, yields, then writes: a classic lost update.
  override async appendToStream<E extends Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ) {
    const version = await this.inner.streamVersion(streamId);
    const expected = options?.expectedVersion ?? "any";
    if (typeof expected === "number" && expected !== version) {
      return super.appendToStream(streamId, events, options);
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
    return super.appendToStream(streamId, events, {
      ...options,
      expectedVersion: "any",
    });
  }
}

async function failures(cases: readonly ContractCase[]): Promise<string[]> {
  return (await runContract(cases)).filter((r) => !r.passed).map((r) => r.name);
}

Deno.test("the event-store contract fails a store that ignores no_stream", async () => {
  const failed = await failures(eventStoreContract(() => new IgnoresNoStream()));
  assert.ok(failed.length > 0, "the broken store must fail");
  assert.deepEqual(failed, failed.filter((name) => /no_stream/.test(name)));
  assert.ok(failed.some((name) => name.startsWith('race: 16 concurrent "no_stream"')));
});

Deno.test("the event-store contract fails a store that drops tags and ignores conditions", async () => {
  class DropsTags extends DelegatingStore {
    // No readQuery: the store says it keeps no tags, yet takes them.
    override readQuery = undefined;
    override appendToStream<E extends Event>(
      streamId: string,
      events: readonly NewEvent<E>[],
      options?: AppendOptions,
    ) {
      // Invalid input goes through as it is: the inner store refuses it.
      const untagged = Array.isArray(events)
        ? events.map((event) =>
          typeof event === "object" && event !== null && "tags" in event
            ? { ...event, tags: undefined }
            : event
        )
        : events;
      return this.inner.appendToStream(streamId, untagged, {
        ...options,
        condition: undefined,
      });
    }
  }
  const failed = await failures(eventStoreContract(() => new DropsTags()));
  assert.deepEqual(failed, [
    "tags and append conditions: kept and checked (readQuery), or else refused, never dropped",
  ]);
});

Deno.test("the event-store contract fails a multi-stream append that half-commits", async () => {
  const failed = await failures(eventStoreContract(() => new HalfCommitsMultiStream()));
  assert.ok(
    failed.includes(
      "appendToStreams() writes nothing when one stream's expectation fails",
    ),
    `failed: ${failed.join(", ")}`,
  );
});

Deno.test("the event-store contract fails a store that reports -1 as the actual version", async () => {
  const failed = await failures(eventStoreContract(() => new ReportsMinusOne()));
  assert.ok(
    failed.includes("an exact expected version is enforced with the real actual version"),
  );
});

Deno.test("the event-store contract fails a store with a check-then-write race", async () => {
  const failed = await failures(eventStoreContract(() => new LosesConcurrentWrites()));
  assert.ok(
    failed.includes('race: 16 concurrent "no_stream" creators, exactly one creates'),
    `failed: ${failed.join(", ")}`,
  );
});

Deno.test("the event-store contract fails a store whose reads alias stored events", async () => {
  class Aliasing extends DelegatingStore {
    // Hands out the same mutable copies on every read, so one caller's
    // mutation shows up in everyone's later reads.
    readonly #handedOut = new Map<string, unknown>();
    #share<T extends { id: string }>(events: T[]): T[] {
      return events.map((event) => {
        if (!this.#handedOut.has(event.id)) {
          this.#handedOut.set(event.id, structuredClone(event));
        }
        return this.#handedOut.get(event.id) as T;
      });
    }
    override readStream: EventStore["readStream"] = async (id, options) =>
      this.#share(await this.inner.readStream(id, options));
    override readAll: EventStore["readAll"] = async (options) =>
      this.#share(await this.inner.readAll(options));
  }
  const failed = await failures(eventStoreContract(() => new Aliasing()));
  assert.ok(
    failed.includes("returned events do not alias stored ones, nor does the input"),
  );
});

Deno.test("the command-log contract fails a log whose cursor repeats a record", async () => {
  class RepeatingCursor extends MemoryCommandLog {
    override async list(query?: CommandQuery): Promise<CommandPage> {
      const page = await super.list(query);
      if (page.nextCursor === undefined || page.records.length < 2) return page;
      // Points one record too early: the next page repeats the last record.
      const previous = page.records[page.records.length - 2];
      return {
        records: page.records,
        nextCursor: encodeCommandCursor({
          timestamp: previous.timestamp.getTime(),
          id: previous.id,
        }),
      };
    }
  }
  const failed = await failures(commandLogContract(() => new RepeatingCursor()));
  assert.ok(
    failed.includes(
      "cursor pages return every record exactly once, in order, ties included",
    ),
    `failed: ${failed.join(", ")}`,
  );
});

Deno.test("the command-log contract fails a log that loses concurrent writes", async () => {
  class LosesRecords extends MemoryCommandLog {
    #pending = 0;
    override async record(record: Parameters<MemoryCommandLog["record"]>[0]) {
      // Drops a record whenever another write is in flight.
      this.#pending++;
      await new Promise((resolve) => setTimeout(resolve, 0));
      const crowded = this.#pending > 1;
      this.#pending--;
      if (!crowded) await super.record(record);
    }
  }
  const failed = await failures(commandLogContract(() => new LosesRecords()));
  assert.ok(failed.includes("1,000 concurrent record() calls lose nothing"));
});

Deno.test("the command-log contract passes the memory log entirely", async () => {
  assert.deepEqual(await failures(commandLogContract(() => new MemoryCommandLog())), []);
});

Deno.test("the projection contract fails inline projections run after the append commits", async () => {
  // Events first, documents after: a throwing evolve leaves the events
  // written and the read model behind them.
  class ProjectsAfterwards extends DelegatingStore {
    constructor(
      readonly documents: MemoryDocumentStore,
      readonly projections: readonly DocumentProjection[],
    ) {
      super();
    }
    override async appendToStreams<E extends Event>(
      appends: readonly StreamAppend<E>[],
    ): Promise<AppendResult<E>[]> {
      const results = await this.inner.appendToStreams(appends);
      this.documents.prepare(this.projections, results.flatMap((r) => r.events))();
      return results;
    }
    override async appendToStream<E extends Event>(
      streamId: string,
      events: readonly NewEvent<E>[],
      options?: AppendOptions,
    ): Promise<AppendResult<E>> {
      const result = await this.inner.appendToStream(streamId, events, options);
      this.documents.prepare(this.projections, result.events)();
      return result;
    }
  }
  const failed = await failures(projectionContract((projections) => {
    const documents = new MemoryDocumentStore();
    const events = new ProjectsAfterwards(documents, projections);
    return { events, documents, close: () => events.close() };
  }));
  assert.ok(
    failed.includes(
      "an evolve that throws fails the append: no event and no document is written",
    ),
    failed.join("; "),
  );
});

Deno.test("the projection contract fails a document store that applies a batch twice", async () => {
  class AppliesTwice extends MemoryDocumentStore {
    override async apply<E extends Event>(
      projection: DocumentProjection<E>,
      events: readonly RecordedEvent<E>[],
    ): Promise<void> {
      // Forgets where it was: a redelivered batch is applied again.
      this.prepare([projection as DocumentProjection], events)();
      await super.apply(projection, []);
    }
  }
  const failed = await failures(projectionContract((projections) => {
    const documents = new AppliesTwice();
    const events = new MemoryEventStore({
      inlineProjections: { store: documents, projections },
    });
    return { events, documents, close: () => events.close() };
  }));
  assert.ok(
    failed.includes(
      "apply moves documents and position together, and a batch applied twice changes nothing",
    ),
    failed.join("; "),
  );
});
