// deno-only: Deno KV files, child processes and Deno's own KV handle. The contract
// suites are in tests/kv_contract_test.ts, which runs in Node too.
import { soak } from "./support/soak.ts";
import {
  type DeadLetter,
  type DocumentProjection,
  EventDecodeError,
  type EventQuery,
  StoreBusyError,
  Subscription,
} from "@verdict/verdict";
import { MemoryCheckpointStore } from "@verdict/verdict/memory";
import assert from "node:assert/strict";
import {
  KvCheckpointStore,
  KvCommandLog,
  KvDocumentStore,
  KvEventStore,
} from "@verdict/verdict/kv";
import { sampleCommandRecord } from "@verdict/verdict/testing";
import { checkAtomicAudit } from "./support/atomic_audit.ts";
import { checkEveryCommandRecorded } from "./support/every_command_recorded.ts";
import { checkConcurrentOrder } from "./support/concurrent_order.ts";
import { killWriterMidAppend } from "./support/kill_mid_append.ts";
import { withTempKv } from "./support/temp_kv.ts";
import { checkCoherentCache } from "./support/coherent_cache.ts";
import {
  bankInlineProjections,
  checkBankProjections,
} from "./support/bank_projections.ts";

Deno.test("Deno KV: 8 writers × 1,000 events, a follower resuming from its checkpoint sees each once, in order", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const store = new KvEventStore(kv, { prefix: ["order"] });
    const checkpoints = new KvCheckpointStore(kv, { prefix: ["order"] });
    await checkConcurrentOrder(store, checkpoints, 50);
    await store.close();
    kv.close();
  });
});

Deno.test("Deno KV atomic audit: the record and the events commit together or not at all", async (t) => {
  await withTempKv(async (open) => {
    const kv = await open();
    const log = new KvCommandLog(kv, { prefix: ["audit"] });
    const store = new KvEventStore(kv, { prefix: ["audit"], commandLog: log });
    await checkAtomicAudit(t, store, log);
    await checkEveryCommandRecorded(t, store, log);
    await store.close();
    kv.close();
  });
});

Deno.test("Deno KV: a process killed with SIGKILL mid-batch leaves no partial batch", async () => {
  {
    const dir = await Deno.makeTempDir({ prefix: "verdict-crash-" });
    const path = `${dir}/crash.kv`;
    try {
      // Kill the writer at varying moments until it has been killed inside
      // an append (its last line says it started a batch it never finished).
      const killedMidAppend = await killWriterMidAppend(
        (round) => [
          "run",
          "-A",
          "--unstable-kv",
          "tests/support/kv_batch_writer.ts",
          path,
          String(round),
        ],
        (round) => (round * 7) % 20,
      );
      assert.ok(
        killedMidAppend > 0,
        "the writer was killed inside an append at least once",
      );

      const kv = await Deno.openKv(path);
      const store = new KvEventStore(kv, { prefix: ["crash"] });
      const all = await store.readAll<
        { type: string; data: { batch: string; i: number } }
      >();
      const perBatch = new Map<string, number>();
      for (const event of all) {
        perBatch.set(event.data.batch, (perBatch.get(event.data.batch) ?? 0) + 1);
      }
      assert.ok(perBatch.size >= 3, `batches committed: ${perBatch.size}`);
      for (const [batch, count] of perBatch) {
        assert.equal(count, 400, `batch ${batch} is whole`);
      }
      for (let s = 0; s < 3; s++) {
        const events = await store.readStream(`batch-${s}`);
        assert.equal(
          await store.streamVersion(`batch-${s}`),
          events.length,
          "head = events",
        );
        assert.deepEqual(
          events.map((e) => e.version),
          Array.from({ length: events.length }, (_, i) => i + 1),
        );
      }
      await store.close();
      kv.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("Deno KV reads global-log entries written before they carried copies of their events", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const store = new KvEventStore(kv, { prefix: ["old-format"] });
    await store.appendToStream("a", [{ type: "A", data: { n: 1 } }, {
      type: "B",
      data: { n: 2 },
    }]);
    await store.appendToStream("b", [{ type: "C", data: { n: 3 } }]);
    const before = await store.readAll();
    // Rewrite every entry the way the first release stored it: refs only, as an array.
    for await (
      const entry of kv.list<{ streams: unknown[] }>({ prefix: ["old-format", "g"] })
    ) {
      await kv.set(entry.key, entry.value.streams);
    }
    assert.deepEqual(await store.readAll(), before);
    await store.close();
    kv.close();
  });
});

Deno.test("Deno KV inline projections: appends changing more documents than an operation can check lose no update", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const documents = new KvDocumentStore(kv);
    // Every event bumps 12 counters: 12 document checks would break the
    // limit of 10, so the projection's write stamp is checked instead.
    const counters: DocumentProjection<{ type: "Tick"; data: null }, number> = {
      name: "counters",
      documentId: () => Array.from({ length: 12 }, (_, i) => `counter-${i}`),
      evolve: (count) => (count ?? 0) + 1,
    };
    const store = new KvEventStore(kv, {
      inlineProjections: { store: documents, projections: [counters] },
      ownsKv: true,
    });
    await Promise.all(
      Array.from(
        { length: 16 },
        (_, i) => store.appendToStream(`ticker-${i}`, [{ type: "Tick", data: null }]),
      ),
    );
    const listed = await documents.list<number>("counters");
    assert.equal(listed.length, 12);
    assert.deepEqual(new Set(listed.map((d) => d.document)), new Set([16]));
    await store.close();
  });
});

Deno.test(`Deno KV: inline and async balances agree with the event log after ${soak(10_000, 2_000)} random commands`, async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const documents = new KvDocumentStore(kv);
    const events = new KvEventStore(kv, {
      inlineProjections: { store: documents, projections: bankInlineProjections },
      ownsKv: true,
    });
    await checkBankProjections(
      { events, documents, close: () => events.close() },
      soak(10_000, 2_000),
    );
    await events.close();
  });
});

Deno.test("Deno KV document store: a batch too big for one atomic operation commits in consistent parts, and a reset deletes every document", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const store = new KvEventStore(kv, { ownsKv: true });
    const documents = new KvDocumentStore(kv);
    // 1,500 documents: more than the 1,000 mutations of one operation.
    for (let i = 0; i < 1_500; i += 100) {
      await store.appendToStream(
        `s-${i / 100}`,
        Array.from({ length: 100 }, (_, j) => ({ type: "Opened", data: { n: i + j } })),
      );
    }
    const owners: DocumentProjection = {
      name: "owners",
      documentId: (event) => `doc-${(event.data as { n: number }).n}`,
      evolve: (_, event) => event.data,
    };
    const log = await store.readAll();
    assert.equal(log.length, 1_500);
    await documents.apply(owners, log);
    assert.equal(await documents.position("owners"), log.at(-1)!.position);
    const listed = await documents.list<{ n: number }>("owners");
    assert.equal(listed.length, 1_500);
    assert.deepEqual(await documents.get("owners", "doc-1499"), { n: 1_499 });
    // Applied again: nothing changes, nothing is counted twice.
    await documents.apply(owners, log);
    assert.equal((await documents.list("owners")).length, 1_500);

    await documents.reset("owners");
    assert.deepEqual(await documents.list("owners"), []);
    assert.equal(await documents.position("owners"), 0);
    await store.close();
  });
});

Deno.test("Deno KV: a damaged stream head is reported, and never leads to an overwrite", async (t) => {
  await withTempKv(async (open) => {
    for (
      const [what, head] of [
        ["a null head", null],
        ["a head whose version is a string", { version: "3" }],
        ["a head at version 0", { version: 0 }],
      ] as const
    ) {
      await t.step(what, async () => {
        const kv = await open();
        const store = new KvEventStore(kv, { prefix: ["heads"], ownsKv: true });
        await store.appendToStream("s", [{ type: "First", data: { n: 1 } }]);
        await kv.set(["heads", "h", "s"], head);
        for (
          const [call, attempt] of [
            ["append", () => store.appendToStream("s", [{ type: "Second", data: {} }])],
            [
              "append with an exact version",
              () =>
                store.appendToStream("s", [{ type: "Second", data: {} }], {
                  expectedVersion: 1,
                }),
            ],
            ["streamVersion", () => store.streamVersion("s")],
          ] as const
        ) {
          const error = await (attempt as () => Promise<unknown>)().then(
            () => undefined,
            (e) => e,
          );
          assert.ok(
            error instanceof EventDecodeError,
            `${call}: an EventDecodeError, got ${error}`,
          );
          assert.equal(error.streamId, "s");
          assert.match(error.message, /head/);
        }
        const [first] = await store.readStream("s");
        assert.deepEqual(first.data, { n: 1 }, "version 1 is intact");
        assert.equal((await store.readAll()).length, 1, "nothing else written");
        await store.close();
      });
    }
  });
});

Deno.test("Deno KV: a damaged global-log entry fails readAll with an EventDecodeError; a skipping subscription passes that commit", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const store = new KvEventStore(kv, { prefix: ["log"], ownsKv: true });
    await store.appendToStream("a", [{ type: "One", data: {} }]);
    await store.appendToStream("b", [{ type: "Two", data: {} }]);
    await store.appendToStream("c", [{ type: "Three", data: {} }]);
    const entries = await Array.fromAsync(kv.list({ prefix: ["log", "g"] }));
    assert.equal(entries.length, 3);
    await kv.set(entries[1].key, { streams: "not a list" });
    const error = await store.readAll().then(() => undefined, (e) => e);
    assert.ok(error instanceof EventDecodeError, `an EventDecodeError, got ${error}`);
    assert.match(error.message, /global-log entry/);

    const seen: string[] = [];
    const letters: DeadLetter[] = [];
    const subscription = new Subscription({
      name: "skips",
      store,
      checkpoints: new MemoryCheckpointStore(),
      handle: (event) => void seen.push(event.type),
      onError: { then: "skip", deadLetter: (letter) => void letters.push(letter) },
      pollIntervalMs: 5,
    }).start();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    assert.deepEqual(seen, ["One", "Three"]);
    assert.equal(letters.length, 1);
    assert.ok(letters[0].error instanceof EventDecodeError);
    await store.close();
  });
});

/** Commands per writer process in the two-process test. */
const PER_WRITER = soak(400, 100);

Deno.test(`Deno KV: two processes × ${PER_WRITER} audited commands on one file: each command is committed with its record, or refused with a typed error`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "verdict-kv-shared-" });
  const path = `${dir}/shared.kv`;
  try {
    const writer = new URL("./support/kv_shared_writer.ts", import.meta.url).pathname;
    const run = (name: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-kv", writer, path, name, String(PER_WRITER)],
        stdout: "piped",
        stderr: "inherit",
      }).output();
    const outputs = await Promise.all([run("a"), run("b")]);
    const reports = outputs.map((output) => {
      assert.ok(output.success, "a writer process failed");
      return JSON.parse(new TextDecoder().decode(output.stdout)) as {
        outcomes: { commandId: string; status: string; error?: string }[];
        errors: string[];
      };
    });
    const outcomes = reports.flatMap((report) => report.outcomes);
    assert.equal(outcomes.length, 2 * PER_WRITER, "every command has an outcome");

    const kv = await Deno.openKv(path);
    const log = new KvCommandLog(kv);
    const store = new KvEventStore(kv, { commandLog: log });
    const events = await store.readAll();
    const eventIds = new Set(events.map((event) => event.id));
    let accepted = 0;
    for (const outcome of outcomes) {
      const record = await log.get(outcome.commandId);
      if (outcome.status === "accepted") {
        accepted++;
        assert.equal(record?.status, "accepted", `the record of ${outcome.commandId}`);
        assert.ok(record!.eventIds.every((id) => eventIds.has(id)), "its events exist");
      } else {
        // Refused: a typed error, never a raw "database is locked".
        assert.ok(
          outcome.error === "StoreBusyError" || outcome.error === "ConcurrencyError",
          `a typed refusal, got ${outcome.error}`,
        );
        assert.ok(
          record === undefined || record.status !== "accepted",
          "no accepted record",
        );
      }
    }
    assert.equal(events.length, accepted, "one event per accepted command, no more");
    let versions = 0;
    for (let c = 0; c < 8; c++) versions += await store.streamVersion(`counter-${c}`);
    assert.equal(versions, accepted, "the counters add up");
    for (const report of reports) {
      for (const error of report.errors) assert.doesNotMatch(error, /database is locked/);
    }
    console.log(
      `two processes on one KV file: ${accepted} of 800 accepted, ${
        800 - accepted
      } refused with a typed error`,
    );
    kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Deno KV: a commit still locked by another handle at the busy deadline fails with StoreBusyError and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "verdict-kv-busy-" });
  try {
    const handles = await Promise.all(
      Array.from({ length: 4 }, () => Deno.openKv(`${dir}/busy.kv`)),
    );
    // No patience at all: the first "database is locked" is final.
    const stores = handles.map((kv) => new KvEventStore(kv, { busyTimeoutMs: 0 }));
    const landed = new Map<string, number>();
    const refusals: unknown[] = [];
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; i < 25; i++) {
        try {
          await stores[w % 4].appendToStream(`w-${w}`, [{ type: "A", data: { i } }]);
          landed.set(`w-${w}`, (landed.get(`w-${w}`) ?? 0) + 1);
        } catch (error) {
          refusals.push(error);
        }
      }
    }));
    assert.ok(refusals.length > 0, "some commits met the lock");
    for (const error of refusals) {
      assert.ok(error instanceof StoreBusyError, `a StoreBusyError, got ${error}`);
      assert.match(error.message, /nothing was written/);
    }
    for (let w = 0; w < 16; w++) {
      assert.equal(await stores[0].streamVersion(`w-${w}`), landed.get(`w-${w}`) ?? 0);
    }
    for (const kv of handles) kv.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Deno KV: a command record written by verdict 0.1 (commandType) reads with type, and is found by type", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const log = new KvCommandLog(kv, { prefix: ["old"], ownsKv: true });
    const { type, ...rest } = sampleCommandRecord({ type: "Deposit" });
    const old = { ...rest, commandType: type };
    const ts = old.timestamp.getTime();
    await kv.atomic()
      .set(["old", "c", "r", old.id], old)
      .set(["old", "c", "t", ts, old.id], null)
      .set(["old", "c", "k", old.correlationId, ts, old.id], null)
      .set(["old", "c", "y", type, ts, old.id], null)
      .commit();
    assert.equal((await log.get(old.id))?.type, "Deposit");
    assert.deepEqual((await log.findByType("Deposit")).records.map((r) => r.type), [
      "Deposit",
    ]);
    assert.equal((await log.findByCorrelation(old.correlationId))[0]?.type, "Deposit");
    await log.close();
  });
});

Deno.test("Deno KV coherentCache: two handles on one file learn of each other's commits", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "verdict-kv-" });
  const path = `${dir}/coherent.kv`;
  const handles: Deno.Kv[] = [];
  try {
    await checkCoherentCache(t, async () => {
      const kv = await Deno.openKv(path);
      handles.push(kv);
      return new KvEventStore(kv, { prefix: ["coherent"] });
    });
  } finally {
    for (const kv of handles) kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Deno KV readQuery by tag reads the tag index: the events it names, not the log", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    // Every event key read, by getMany, as the store reads them.
    let read = 0;
    const counting = new Proxy(kv, {
      get(target, property) {
        if (property === "getMany") {
          return (
            keys: Deno.KvKey[],
            options?: { consistency?: Deno.KvConsistencyLevel },
          ) => {
            read += keys.filter((key) => key[1] === "s").length;
            return target.getMany(keys, options);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const store = new KvEventStore(counting, { prefix: ["q"] });
    for (let t = 0; t < 50; t++) {
      await store.appendToStream(
        `s-${t}`,
        Array.from({ length: 20 }, (_, n) => ({
          type: n === 0 ? "Opened" : "Noted",
          data: { n },
          tags: [`t:${t}`, ...(n === 0 ? ["opened"] : [])],
        })),
      );
    }
    // The first query by tag on a store file builds the index for the
    // commits before it once (it reads the log); later ones read the index.
    read = 0;
    await store.readQuery([{ tags: ["t:6"] }]);
    assert.equal(read, 1_000 + 20, "the index built once, then 20 read");
    read = 0;
    const { events, head } = await store.readQuery([{ tags: ["t:7"] }]);
    assert.equal(events.length, 20);
    assert.equal(read, 20, "event keys read for 20 matches among 1,000");
    const [last] = await store.readAll({ after: 0 }).then((all) => all.slice(-1));
    assert.equal(head, last.position);
    // Two items: each item's first tag's events, once, in global order.
    const opened = await store.readQuery([
      { types: ["Opened"], tags: ["opened"] },
      { tags: ["t:3"] },
    ]);
    assert.deepEqual(
      opened.events.map((event) => event.position),
      (await store.readAll({ after: 0 })).filter((event) =>
        event.tags!.includes("opened") || event.tags!.includes("t:3")
      ).map((event) => event.position),
    );
    // After a head: what came since, alone.
    await store.appendToStream("s-7", [{ type: "Noted", data: {}, tags: ["t:7"] }]);
    const since = await store.readQuery([{ tags: ["t:7"] }], { after: head });
    assert.deepEqual(since.events.map((event) => event.version), [21]);
    // An item without tags reads the log.
    read = 0;
    await store.readQuery([{ types: ["Opened"] }]);
    assert.equal(read, 1_001);
    await store.close();
  });
});

Deno.test("Deno KV builds the tag index for commits written before it; a damaged index entry is an error", async () => {
  await withTempKv(async (open) => {
    const kv = await open();
    const before = new KvEventStore(kv, { prefix: ["old"] });
    await before.appendToStream("course-c1", [
      { type: "CourseDefined", data: {}, tags: ["course:c1"] },
    ]);
    await before.appendToStreams([
      {
        streamId: "s1",
        events: [{ type: "Subscribed", data: {}, tags: ["course:c1", "s:1"] }],
      },
      { streamId: "s2", events: [{ type: "Subscribed", data: {}, tags: ["s:2"] }] },
    ]);
    await before.close();
    // As a store of the previous layout left it: no tag index.
    for await (const entry of kv.list({ prefix: ["old", "xt"] })) {
      await kv.delete(entry.key);
    }
    await kv.delete(["old", "xt-ready"]);

    const store = new KvEventStore(kv, { prefix: ["old"] });
    const types = async (query: EventQuery) =>
      (await store.readQuery(query)).events.map((event) =>
        `${event.streamId}:${event.type}`
      );
    assert.deepEqual(await types([{ tags: ["course:c1"] }]), [
      "course-c1:CourseDefined",
      "s1:Subscribed",
    ]);
    assert.deepEqual(await types([{ tags: ["s:2"] }]), ["s2:Subscribed"]);
    assert.equal((await kv.get(["old", "xt-ready"])).value, true);

    // A damaged index entry is read loudly.
    const [entry] = await Array.fromAsync(kv.list({ prefix: ["old", "xt", "s:2"] }));
    await kv.set(entry.key, "not a list");
    await assert.rejects(store.readQuery([{ tags: ["s:2"] }]), EventDecodeError);
    await store.close();
  });
});
