import assert from "node:assert/strict";
import { audit, AuditNotAtomicError, CommandBus, deciderHandler } from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { ManualClock } from "@verdict/verdict/testing";
import { SpyStore } from "./support/spy_store.ts";

Deno.test("atomic audit, explicit", async (t) => {
  type Ping = { type: "Ping"; data: null };
  const pinger = {
    initialState: () => 0,
    decide: () => [{ type: "Pinged", data: null }],
    evolve: (n: number) => n + 1,
  };
  /** A bus whose append takes 10 ms of the clock after the record was built. */
  function slowCommit(atomic: boolean) {
    const clock = new ManualClock();
    const log = new MemoryCommandLog();
    const store = new SpyStore(new MemoryEventStore(atomic ? { commandLog: log } : {}));
    store.afterAppend = () => clock.advance(10);
    const errors: unknown[] = [];
    const bus = new CommandBus<Ping>({ clock, onError: (e) => errors.push(e) })
      .use(audit(log))
      .register("Ping", deciderHandler({ decider: pinger, store, streamId: () => "p" }));
    return { bus, log, errors };
  }

  await t.step(
    "durationMs means the same on both paths: from dispatch to the decision handed to the store",
    async () => {
      const durations: number[] = [];
      for (const atomic of [true, false]) {
        const { bus, log, errors } = slowCommit(atomic);
        const result = await bus.dispatch({ type: "Ping", data: null });
        assert.equal(result.status, "accepted");
        durations.push((await log.get(result.commandId))!.durationMs);
        assert.deepEqual(errors, []);
      }
      assert.deepEqual(durations, [0, 0], "atomic, then written apart");
    },
  );

  await t.step(
    "the accepted result says whether its record committed with its events",
    async () => {
      const atomic = await slowCommit(true).bus.dispatch({ type: "Ping", data: null });
      assert.equal(atomic.status === "accepted" && atomic.recordedAtomically, true);
      const apart = await slowCommit(false).bus.dispatch({ type: "Ping", data: null });
      assert.equal(apart.status === "accepted" && apart.recordedAtomically, false);
      const store = new MemoryEventStore();
      const bare = await new CommandBus<Ping>()
        .register("Ping", deciderHandler({ decider: pinger, store, streamId: () => "p" }))
        .dispatch({ type: "Ping", data: null });
      assert.equal(bare.status, "accepted");
      assert.equal("recordedAtomically" in bare, false, "no audit, no claim");
    },
  );

  await t.step(
    "a store whose command log is another instance than the audit's is reported once, and the record is still written",
    async () => {
      const storeLog = new MemoryCommandLog();
      const auditLog = new MemoryCommandLog();
      const store = new MemoryEventStore({ commandLog: storeLog });
      const errors: unknown[] = [];
      const bus = new CommandBus<Ping>({ onError: (e) => errors.push(e) })
        .use(audit(auditLog))
        .register(
          "Ping",
          deciderHandler({ decider: pinger, store, streamId: () => "p" }),
        );
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await bus.dispatch({ type: "Ping", data: null })).commandId);
      }
      assert.equal(errors.length, 1, "once, not per command");
      assert.ok(errors[0] instanceof AuditNotAtomicError);
      assert.match((errors[0] as Error).message, /not this event store's command log/);
      for (const id of ids) assert.equal((await auditLog.get(id))?.status, "accepted");
      assert.equal(await storeLog.get(ids[0]), undefined);
    },
  );
});
