import assert from "node:assert/strict";
import {
  audit,
  AuditWriteError,
  causedBy,
  type Command,
  CommandBus,
  type CommandRecord,
  ConcurrencyError,
  deciderHandler,
  jsonCodec,
  redact,
  timeout,
} from "@verdict/verdict";
import { cborCodec } from "@verdict/verdict/cbor";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { ManualClock } from "@verdict/verdict/testing";
import { accountStream, type BankCommand, createBank } from "../examples/bank.ts";
import { SpyStore } from "./support/spy_store.ts";

const open = (accountId: string): BankCommand => ({
  type: "OpenAccount",
  data: { accountId, owner: accountId },
});

/** A bank whose log is separate from its store (not atomic). */
function separateBank() {
  const log = new MemoryCommandLog();
  const store = new MemoryEventStore();
  const errors: unknown[] = [];
  const bus = createBank({ store, log, onError: (e) => errors.push(e) });
  return { log, store, bus, errors };
}

Deno.test("audit() records every outcome", async (t) => {
  await t.step(
    "an accepted command, with its events, streams, metadata and timing",
    async () => {
      const clock = new ManualClock();
      const log = new MemoryCommandLog();
      const bus = new CommandBus({ clock }).use(audit(log));
      bus.register("Ping", () => {
        return {
          events: [{
            id: "evt-1",
            type: "Pinged",
            data: null,
            streamId: "s",
            version: 1,
            position: 1,
            timestamp: new Date(),
            metadata: {},
          }],
          streams: [{ streamId: "s", version: 1 }],
        };
      });
      const pending = bus.dispatch(
        { type: "Ping", data: { n: 1 } },
        {
          principal: "ada",
          tenantId: "t-1",
          metadata: { ip: "10.0.0.1" },
          causationId: "evt-0",
        },
      );
      const result = await pending;
      const record = await log.get(result.commandId);
      assert.ok(record);
      assert.equal(record.status, "accepted");
      assert.equal(record.type, "Ping");
      assert.equal(
        record.correlationId,
        result.commandId,
        "a new chain starts at the command",
      );
      assert.equal(record.causationId, "evt-0");
      assert.deepEqual(record.eventIds, ["evt-1"]);
      assert.deepEqual(record.streamIds, ["s"]);
      assert.deepEqual(record.metadata, {
        ip: "10.0.0.1",
        userId: "ada",
        tenantId: "t-1",
      });
      assert.deepEqual(jsonCodec.decode(record.payload), {
        type: "Ping",
        data: { n: 1 },
      });
      assert.equal(record.timestamp.getTime(), clock.now());
      assert.equal(record.error, undefined);
    },
  );

  await t.step("the duration is measured on the bus's clock", async () => {
    const clock = new ManualClock();
    const log = new MemoryCommandLog();
    const bus = new CommandBus({ clock }).use(audit(log));
    bus.register("Slow", async (_, ctx) => {
      await ctx.clock.sleep(250);
      return { events: [], streams: [] };
    });
    const pending = bus.dispatch({ type: "Slow", data: null });
    await clock.advance(250);
    const record = await log.get((await pending).commandId);
    assert.equal(record?.durationMs, 250);
  });

  await t.step("a rejection, with its reason, code and details", async () => {
    const { log, bus } = separateBank();
    await bus.dispatch(open("a"));
    const result = await bus.dispatch({
      type: "Withdraw",
      data: { accountId: "a", amount: 50 },
    });
    const record = await log.get(result.commandId);
    assert.equal(record?.status, "rejected");
    assert.equal(record?.error?.name, "CommandRejectedError");
    assert.equal(record?.error?.code, "insufficient_funds");
    assert.deepEqual(record?.error?.details, { balance: 0, requested: 50 });
    assert.deepEqual(record?.eventIds, []);
  });

  await t.step(
    "a validation failure, with every issue, and the payload as sent",
    async () => {
      const { log, bus } = separateBank();
      const result = await bus.dispatch({
        type: "Deposit",
        data: { accountId: "", amount: -5 },
      });
      const record = await log.get(result.commandId);
      assert.equal(record?.status, "rejected");
      assert.equal(record?.error?.name, "ValidationError");
      assert.deepEqual(record?.error?.issues?.map((i) => i.path), [["accountId"], [
        "amount",
      ]]);
      assert.deepEqual(jsonCodec.decode(record!.payload), {
        type: "Deposit",
        data: { accountId: "", amount: -5 },
      });
    },
  );

  await t.step("a handler failure", async () => {
    const log = new MemoryCommandLog();
    const bus = new CommandBus().use(audit(log));
    bus.register("Boom", () => {
      throw new Error("disk on fire");
    });
    const result = await bus.dispatch({ type: "Boom", data: null });
    const record = await log.get(result.commandId);
    assert.equal(record?.status, "failed");
    assert.deepEqual(record?.error, { name: "Error", message: "disk on fire" });
  });

  await t.step("a timeout is a failure", async () => {
    const clock = new ManualClock();
    const log = new MemoryCommandLog();
    const bus = new CommandBus({ clock }).use(audit(log)).use(timeout(100));
    bus.register("Slow", async (_, ctx) => {
      await ctx.clock.sleep(1_000, ctx.signal);
      return { events: [], streams: [] };
    });
    const pending = bus.dispatch({ type: "Slow", data: null });
    await clock.advance(100);
    const record = await log.get((await pending).commandId);
    assert.equal(record?.status, "failed");
    assert.equal(record?.error?.name, "CommandTimeoutError");
    assert.equal(record?.durationMs, 100);
  });

  await t.step("exhausted conflict retries are a failure", async () => {
    const log = new MemoryCommandLog();
    const memory = new MemoryEventStore();
    const store = new SpyStore(memory);
    store.beforeAppend = () =>
      memory.appendToStream("s", [{ type: "Sneaky", data: null }]).then(() => {});
    const bus = new CommandBus().use(audit(log));
    bus.register(
      "Inc",
      deciderHandler({
        decider: {
          initialState: () => 0,
          decide: () => [{ type: "Inc", data: null }],
          evolve: (n: number) => n + 1,
        },
        store,
        streamId: () => "s",
        retry: { maxAttempts: 2, baseDelayMs: 0 },
      }),
    );
    const result = await bus.dispatch({ type: "Inc", data: null });
    const record = await log.get(result.commandId);
    assert.equal(record?.status, "failed");
    assert.equal(record?.error?.name, "ConcurrencyError");
    if (result.status === "failed") assert.ok(result.error instanceof ConcurrencyError);
  });

  await t.step("a command that decides nothing is accepted with no events", async () => {
    const log = new MemoryCommandLog();
    const bus = new CommandBus().use(audit(log));
    bus.register(
      "Noop",
      deciderHandler({
        decider: { initialState: () => 0, decide: () => [], evolve: (n: number) => n },
        store: new MemoryEventStore({ commandLog: log }),
        streamId: () => "s",
      }),
    );
    const result = await bus.dispatch({ type: "Noop", data: null });
    const record = await log.get(result.commandId);
    assert.equal(record?.status, "accepted");
    assert.deepEqual(record?.eventIds, []);
  });
});

Deno.test("audit() redacts fields before the payload is encoded", async () => {
  type SignUp = Command<
    "SignUp",
    { email: string; password: string; cards: { number: string }[] }
  >;
  const log = new MemoryCommandLog();
  const bus = new CommandBus<SignUp>().use(
    audit(log, { redact: ["data.password", "data.cards.*.number", "data.missing.path"] }),
  );
  let handlerSaw = "";
  bus.register("SignUp", (command) => {
    handlerSaw = command.data.password;
    return { events: [], streams: [] };
  });
  const command: SignUp = {
    type: "SignUp",
    data: { email: "a@b.c", password: "hunter2", cards: [{ number: "4111" }] },
  };
  const result = await bus.dispatch(command);
  const record = await log.get(result.commandId);
  assert.equal(handlerSaw, "hunter2", "the handler still gets the real command");
  assert.equal(command.data.password, "hunter2", "the caller's command is untouched");
  assert.doesNotMatch(String(record?.payload), /hunter2|4111/);
  assert.deepEqual(jsonCodec.decode(record!.payload), {
    type: "SignUp",
    data: { email: "a@b.c", password: "[REDACTED]", cards: [{ number: "[REDACTED]" }] },
  });
});

Deno.test("audit() redaction keeps a __proto__ key from JSON.parse as a field", async () => {
  // A command built from a request body: JSON.parse makes "__proto__" an own
  // key. Outside Deno, copying it with `copy[key] = value` sets a prototype
  // instead, and the field vanishes from the log.
  const command = JSON.parse(
    '{"type":"Pay","data":{"cards":{"main":{"number":"4111"},"__proto__":{"number":"5500"}}}}',
  );
  const log = new MemoryCommandLog();
  const bus = new CommandBus().use(audit(log, { redact: ["data.cards.*.number"] }));
  bus.register("Pay", () => ({ events: [], streams: [] }));
  const result = await bus.dispatch(command);
  const payload = String((await log.get(result.commandId))?.payload);
  assert.doesNotMatch(payload, /4111|5500/);
  assert.deepEqual(
    jsonCodec.decode(payload),
    JSON.parse(
      '{"type":"Pay","data":{"cards":{"main":{"number":"[REDACTED]"},"__proto__":{"number":"[REDACTED]"}}}}',
    ),
  );
  const everything = redact(command, ["data.cards.*"]);
  assert.deepEqual(Object.keys(everything.data.cards), ["main", "__proto__"]);
  assert.equal(Object.getPrototypeOf(everything.data.cards), Object.prototype);
});

Deno.test("audit() with the CBOR codec stores bytes that decode to the command", async () => {
  const log = new MemoryCommandLog();
  const bus = new CommandBus().use(audit(log, { codec: cborCodec }));
  bus.register("Ping", () => ({ events: [], streams: [] }));
  const result = await bus.dispatch({ type: "Ping", data: { text: "ünï 🙂", n: 1.5 } });
  const record = await log.get(result.commandId);
  assert.equal(record?.payloadCodec, "cbor");
  assert.ok(record?.payload instanceof Uint8Array);
  assert.deepEqual(cborCodec.decode(record!.payload), {
    type: "Ping",
    data: { text: "ünï 🙂", n: 1.5 },
  });
});

Deno.test("the causation chain command → events → follow-up command can be walked back", async () => {
  const log = new MemoryCommandLog();
  const store = new MemoryEventStore({ commandLog: log });
  const bus = createBank({ store, log });
  const opened = await bus.dispatch(open("a"), { correlationId: "signup-1" });
  assert.equal(opened.status, "accepted");
  if (opened.status !== "accepted") return;
  // A process manager reacts to AccountOpened with a welcome bonus.
  const bonus = await bus.dispatch(
    { type: "Deposit", data: { accountId: "a", amount: 10 } },
    causedBy(opened.events[0]),
  );

  // Walk back from the bonus deposit's event to the command that started it all.
  const [, bonusEvent] = await store.readStream(accountStream("a"));
  const bonusRecord = await log.get(bonusEvent.metadata.causationId!);
  assert.equal(bonusRecord?.id, bonus.commandId);
  const cause = (await store.readAll()).find((e) => e.id === bonusRecord?.causationId);
  assert.equal(cause?.type, "AccountOpened");
  const origin = await log.get(cause!.metadata.causationId!);
  assert.equal(origin?.type, "OpenAccount");
  assert.deepEqual(
    (await log.findByCorrelation("signup-1")).map((r) => r.type),
    ["OpenAccount", "Deposit"],
  );
});

Deno.test("atomic audit: the record and the events commit together or not at all", async (t) => {
  await t.step("an accepted record is written by the append, not after it", async () => {
    const log = new MemoryCommandLog();
    let separateWrites = 0;
    const original = log.record.bind(log);
    log.record = (record: CommandRecord) => {
      separateWrites++;
      return original(record);
    };
    const store = new MemoryEventStore({ commandLog: log });
    const bus = createBank({ store, log });
    const result = await bus.dispatch(open("a"));
    assert.equal(separateWrites, 0);
    const record = await log.get(result.commandId);
    const [event] = await store.readStream(accountStream("a"));
    assert.deepEqual(record?.eventIds, [event.id]);
    assert.deepEqual(record?.streamIds, [accountStream("a")]);
  });

  await t.step("a record write that fails leaves no events", async () => {
    const log = new MemoryCommandLog();
    log.recordInTransaction = () => {
      throw new Error("log full");
    };
    const store = new MemoryEventStore({ commandLog: log });
    const bus = createBank({ store, log, onError: () => {} });
    const result = await bus.dispatch(open("a"));
    assert.equal(result.status, "failed");
    assert.deepEqual(await store.readAll(), []);
  });

  await t.step("an append that fails leaves no accepted record", async () => {
    const log = new MemoryCommandLog();
    const memory = new MemoryEventStore({ commandLog: log });
    const store = new SpyStore(memory);
    store.beforeAppend = () => {
      throw new Error("connection reset");
    };
    const bus = createBank({ store, log });
    const result = await bus.dispatch(open("a"));
    assert.equal(result.status, "failed");
    const records = (await log.list()).records;
    assert.deepEqual(records.map((r) => r.status), ["failed"]);
    assert.deepEqual(records[0].eventIds, []);
    assert.deepEqual(await memory.readAll(), []);
  });

  await t.step(
    "a conflict retried inside the transaction leaves one record",
    async () => {
      const log = new MemoryCommandLog();
      const memory = new MemoryEventStore({ commandLog: log });
      const store = new SpyStore(memory);
      const bus = createBank({ store, log });
      await bus.dispatch(open("a"));
      let sneaked = false;
      store.beforeAppend = async () => {
        if (sneaked) return;
        sneaked = true;
        await memory.appendToStream(accountStream("a"), [
          { type: "MoneyDeposited", data: { accountId: "a", amount: 1 } },
        ]);
      };
      const result = await bus.dispatch({
        type: "Deposit",
        data: { accountId: "a", amount: 5 },
      });
      assert.equal(result.status, "accepted");
      const records = (await log.list()).records;
      assert.equal(records.length, 2);
      assert.equal(records[1].eventIds.length, 1);
    },
  );
});

Deno.test("a separate log that fails is reported and never changes the outcome", async () => {
  const { log, store, bus, errors } = separateBank();
  log.record = () => Promise.reject(new Error("log unreachable"));
  const result = await bus.dispatch(open("a"));
  assert.equal(result.status, "accepted");
  assert.equal(await store.streamVersion(accountStream("a")), 1);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof AuditWriteError);
  assert.equal((errors[0] as AuditWriteError).commandId, result.commandId);
});

Deno.test("a record write that fails once (a lost connection) is tried again: a rejection's record is not lost", async () => {
  const { log, bus, errors } = separateBank();
  const record = log.record.bind(log);
  let failures = 1;
  log.record = (entry) =>
    failures-- > 0 ? Promise.reject(new Error("connection lost")) : record(entry);
  // Withdrawing from an account that does not exist is refused.
  const result = await bus.dispatch({
    type: "Withdraw",
    data: { accountId: "nobody", amount: 5 },
  });
  assert.equal(result.status, "rejected");
  assert.equal((await log.get(result.commandId))?.status, "rejected");
  assert.deepEqual(errors, []);
});

Deno.test("a rejection whose record cannot be written answers failed; sent again, it is recorded", async () => {
  const { log, bus, errors } = separateBank();
  const record = log.record.bind(log);
  let failures = 3; // every try of the first dispatch
  log.record = (entry) =>
    failures-- > 0 ? Promise.reject(new Error("connection lost")) : record(entry);
  const withdraw = {
    type: "Withdraw" as const,
    data: { accountId: "nobody", amount: 5 },
  };
  // Not final until recorded: a retry under the id could decide otherwise.
  const first = await bus.dispatch(withdraw, { commandId: "cmd-w" });
  assert.equal(first.status, "failed");
  assert.ok(first.status === "failed" && first.error instanceof AuditWriteError);
  assert.equal(await log.get("cmd-w"), undefined);
  const again = await bus.dispatch(withdraw, { commandId: "cmd-w" });
  assert.equal(again.status, "rejected");
  assert.equal((await log.get("cmd-w"))?.status, "rejected");
  assert.deepEqual(errors, [], "the failure is the result, not a report");
});

Deno.test("a command log whose record() answers nothing, not a promise, still audits", async () => {
  // Written without async in plain JavaScript: the audit does not depend on a promise back.
  class BareLog extends MemoryCommandLog {
    override record(record: CommandRecord): Promise<void> {
      void super.record(record);
      return undefined as unknown as Promise<void>;
    }
  }
  const log = new BareLog();
  const errors: unknown[] = [];
  const bus = new CommandBus({ onError: (error) => errors.push(error) })
    .use(audit(log))
    .register("Ping", () => ({ events: [], streams: [] }));
  const result = await bus.dispatch({ type: "Ping", data: null });
  assert.equal(result.status, "accepted");
  assert.equal((await log.get(result.commandId))?.status, "accepted");
  assert.deepEqual(errors, []);
});
