import assert from "node:assert/strict";
import type { CommandLogStore, EventStore } from "@verdict/verdict";
import { sampleCommandRecord } from "@verdict/verdict/testing";
import { accountStream, createBank } from "../../examples/bank.ts";
import { SpyStore } from "./spy_store.ts";

/**
 * The atomic audit promise, on a store whose `commandLog` is `log`: an
 * accepted command's record commits in the append itself, and the record
 * and the events never commit one without the other.
 */
export async function checkAtomicAudit(
  t: Deno.TestContext,
  store: EventStore,
  log: CommandLogStore,
): Promise<void> {
  assert.equal(store.commandLog, log, "the store commits records to this log");
  const bus = createBank({ store, log, onError: () => {} });

  await t.step(
    "an accepted command's record is written by the append itself",
    async () => {
      const result = await bus.dispatch({
        type: "OpenAccount",
        data: { accountId: "a", owner: "Ada" },
      });
      const [event] = await store.readStream(accountStream("a"));
      const record = await log.get(result.commandId);
      assert.equal(record?.status, "accepted");
      assert.deepEqual(record?.eventIds, [event.id]);
    },
  );

  await t.step(
    "a command id that already has a final record writes nothing and answers as recorded",
    async () => {
      const taken = sampleCommandRecord({ status: "rejected" });
      await log.record(taken);
      // The same command id again: the command happened; the record's id is
      // taken, so the append fails and the recorded outcome is the answer.
      const result = await bus.dispatch(
        { type: "OpenAccount", data: { accountId: "b", owner: "Bo" } },
        { commandId: taken.id },
      );
      assert.equal(result.status, "rejected");
      assert.equal(
        result.status === "rejected" && result.reason.message,
        taken.error?.message,
      );
      assert.equal(await store.streamVersion(accountStream("b")), 0);
      assert.deepEqual(await store.readStream(accountStream("b")), []);
      assert.equal((await log.get(taken.id))?.type, taken.type);
    },
  );

  await t.step("events that cannot be written leave no accepted record", async () => {
    const spy = new SpyStore(store);
    spy.beforeAppend = () => {
      throw new Error("connection reset");
    };
    const failing = createBank({ store: spy, log, onError: () => {} });
    const result = await failing.dispatch({
      type: "OpenAccount",
      data: { accountId: "c", owner: "Cy" },
    });
    assert.equal(result.status, "failed");
    assert.equal((await log.get(result.commandId))?.status, "failed");
    assert.equal(await store.streamVersion(accountStream("c")), 0);
  });

  await t.step("a conflicting append writes neither events nor the record", async () => {
    const record = sampleCommandRecord({ type: "Deposit" });
    await assert.rejects(
      store.appendToStream(accountStream("a"), [{ type: "MoneyDeposited", data: {} }], {
        expectedVersion: 7,
        commandRecord: () => record,
      }),
    );
    assert.equal(await log.get(record.id), undefined);
    assert.equal(await store.streamVersion(accountStream("a")), 1);
  });
}
