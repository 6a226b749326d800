import assert from "node:assert/strict";
import { soak } from "./support/soak.ts";
import { fold, ProjectionRunner, type RecordedEvent } from "@verdict/verdict";
import {
  MemoryCheckpointStore,
  MemoryDocumentStore,
  MemoryEventStore,
} from "@verdict/verdict/memory";
import {
  bankInlineProjections,
  checkBankProjections,
  random,
  randomCommand,
} from "./support/bank_projections.ts";
import {
  accountDecider,
  accountStream,
  type BankEvent,
  createBank,
} from "../examples/bank.ts";

function balancesProjection(balances: Map<string, number>) {
  const apply = (id: string, delta: number) =>
    balances.set(id, (balances.get(id) ?? 0) + delta);
  return {
    name: "balances",
    project(event: RecordedEvent<BankEvent>) {
      switch (event.type) {
        case "AccountOpened":
          balances.set(event.streamId, 0);
          break;
        case "MoneyDeposited":
        case "TransferReceived":
          apply(event.streamId, event.data.amount);
          break;
        case "MoneyWithdrawn":
        case "TransferSent":
          apply(event.streamId, -event.data.amount);
      }
    },
    reset: () => balances.clear(),
  };
}

/** Random commands in the soaks below. */
const RANDOM = soak(10_000, 2_000);

Deno.test(`an async projection of balances agrees with the event log after ${RANDOM} random commands`, async () => {
  const store = new MemoryEventStore();
  const bank = createBank({ store });
  const balances = new Map<string, number>();
  const runner = new ProjectionRunner<BankEvent>({
    store,
    checkpoints: new MemoryCheckpointStore(),
    projection: balancesProjection(balances),
    subscription: { pollIntervalMs: 10, checkpointEvery: { events: 250 } },
  });
  runner.start();

  const next = random(42);
  const accounts = Array.from({ length: 20 }, (_, i) => `acc-${i}`);
  const outcomes = { accepted: 0, rejected: 0, failed: 0 };
  for (let i = 0; i < RANDOM; i++) {
    outcomes[(await bank.dispatch(randomCommand(next, accounts, i))).status]++;
  }
  await runner.waitUntilCaughtUp();
  await runner.stop();

  assert.equal(outcomes.failed, 0);
  assert.ok(
    outcomes.accepted > RANDOM * 0.3 && outcomes.rejected > RANDOM * 0.1,
    JSON.stringify(outcomes),
  );
  for (const id of accounts) {
    const events = await store.readStream<BankEvent>(accountStream(id));
    if (events.length === 0) continue;
    assert.equal(
      balances.get(accountStream(id)),
      fold(accountDecider, events).balance,
      `balance of ${id}`,
    );
  }

  // A rebuild replays the whole log into an emptied read model, reporting progress.
  const before = new Map(balances);
  const progress: number[] = [];
  await runner.rebuild((p) => progress.push(p.position));
  const all = await store.readAll();
  assert.deepEqual(balances, before, "the rebuilt read model is the same");
  assert.equal(progress.length, all.length, "progress after every event");
  assert.equal(progress.at(-1), all.at(-1)?.position);
});

Deno.test(`memory: inline and async balances agree with the event log after ${RANDOM} random commands`, async () => {
  const documents = new MemoryDocumentStore();
  const events = new MemoryEventStore({
    inlineProjections: { store: documents, projections: bankInlineProjections },
  });
  await checkBankProjections({ events, documents, close: () => events.close() }, RANDOM);
});
