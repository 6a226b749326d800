import assert from "node:assert/strict";
import { type CheckpointStore, type RecordedEvent, Subscription } from "@verdict/verdict";
import { MemoryCheckpointStore, MemoryEventStore } from "@verdict/verdict/memory";

type Noted = { type: "Noted" | "Ignored"; data: { n: number } };

async function write(
  store: MemoryEventStore,
  count: number,
  type = "Noted",
): Promise<void> {
  for (let n = 0; n < count; n++) {
    await store.appendToStream("s", [{ type, data: { n } }]);
  }
}

function subscription(
  store: MemoryEventStore,
  checkpoints: CheckpointStore,
  handle: (event: RecordedEvent<Noted>) => void | Promise<void>,
  extra: Partial<ConstructorParameters<typeof Subscription<Noted>>[0]> = {},
) {
  return new Subscription<Noted>({
    name: "notes",
    store,
    checkpoints,
    handle,
    pollIntervalMs: 20,
    onError: { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } },
    ...extra,
  });
}

Deno.test("Subscription", async (t) => {
  await t.step(
    "catches up, follows live, and resumes from its checkpoint after a stop",
    async () => {
      const store = new MemoryEventStore();
      const checkpoints = new MemoryCheckpointStore();
      await write(store, 5);
      const seen: number[] = [];
      const first = subscription(store, checkpoints, (e) => void seen.push(e.position))
        .start();
      await first.waitUntilCaughtUp();
      await write(store, 3);
      await first.waitUntilCaughtUp();
      await first.stop();
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(await checkpoints.load("notes"), 8);
      await write(store, 2);
      const second = subscription(store, checkpoints, (e) => void seen.push(e.position))
        .start();
      await second.waitUntilCaughtUp();
      await second.stop();
      assert.deepEqual(
        seen,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "nothing twice, nothing lost",
      );
    },
  );

  await t.step(
    "only the filtered types reach the handler; the checkpoint moves past the rest",
    async () => {
      const store = new MemoryEventStore();
      const checkpoints = new MemoryCheckpointStore();
      await write(store, 2, "Ignored");
      await write(store, 2, "Noted");
      const seen: string[] = [];
      const s = subscription(store, checkpoints, (e) => void seen.push(e.type), {
        eventTypes: ["Noted"],
      }).start();
      await s.waitUntilCaughtUp();
      await s.stop();
      assert.deepEqual(seen, ["Noted", "Noted"]);
      assert.equal(await checkpoints.load("notes"), 4);
    },
  );

  await t.step(
    "a consumer killed mid-batch resumes from its last saved checkpoint: duplicates only within the unsaved batch",
    async () => {
      const store = new MemoryEventStore();
      const saved: number[] = [];
      const inner = new MemoryCheckpointStore();
      // Records saves, and can "die": after it dies nothing more is saved.
      let dead = false;
      const checkpoints: CheckpointStore = {
        load: (name) => inner.load(name),
        save: async (name, position) => {
          if (dead) return;
          saved.push(position);
          await inner.save(name, position);
        },
        close: () => inner.close(),
      };
      await write(store, 25);
      const handled: number[] = [];
      const crashing = subscription(store, checkpoints, (e) => {
        handled.push(e.position);
        if (e.position === 17) dead = true; // the process dies while handling 17
      }, { checkpointEvery: { events: 10, ms: 60_000 }, batchSize: 100 });
      crashing.start();
      await crashing.waitUntilCaughtUp();
      await crashing.stop(); // too late: the process is already dead
      assert.deepEqual(saved, [10], "only the first full batch was saved");

      dead = false;
      const resumed: number[] = [];
      const restarted = subscription(
        store,
        checkpoints,
        (e) => void resumed.push(e.position),
        {
          checkpointEvery: { events: 10 },
        },
      ).start();
      await restarted.waitUntilCaughtUp();
      await restarted.stop();
      assert.deepEqual(
        resumed,
        Array.from({ length: 15 }, (_, i) => 11 + i),
        "from 11 on",
      );
      const all = new Set([...handled, ...resumed]);
      assert.equal(all.size, 25, "no event lost");
    },
  );

  await t.step(
    "a handler that keeps failing stops the subscription before the event, by default",
    async () => {
      const store = new MemoryEventStore();
      const checkpoints = new MemoryCheckpointStore();
      await write(store, 5);
      let attempts = 0;
      const s = subscription(store, checkpoints, (e) => {
        if (e.position === 3) {
          attempts++;
          throw new Error("mail server down");
        }
      }).start();
      await assert.rejects(s.waitUntilCaughtUp(), /mail server down/);
      await s.stop();
      assert.equal(s.status, "failed");
      assert.equal((s.error as Error).message, "mail server down");
      assert.equal(attempts, 3, "retried before giving up");
      assert.equal(
        await checkpoints.load("notes"),
        2,
        "the checkpoint stays before the event",
      );
    },
  );

  await t.step(
    'with then: "skip", the event goes to the dead letters and the rest follows',
    async () => {
      const store = new MemoryEventStore();
      const checkpoints = new MemoryCheckpointStore();
      await write(store, 4);
      const letters: number[] = [];
      const seen: number[] = [];
      const s = subscription(store, checkpoints, (e) => {
        if (e.position === 2) throw new Error("poison");
        seen.push(e.position);
      }, {
        onError: {
          retry: { maxAttempts: 2, baseDelayMs: 0 },
          then: "skip",
          deadLetter: (letter) => void letters.push(letter.position),
        },
      }).start();
      await s.waitUntilCaughtUp();
      await s.stop();
      assert.deepEqual(letters, [2]);
      assert.deepEqual(seen, [1, 3, 4]);
      assert.equal(await checkpoints.load("notes"), 4);
    },
  );
});
