import assert from "node:assert/strict";
import {
  audit,
  CommandBus,
  type CommandLogStore,
  CommandRejectedError,
  deciderHandler,
  type EventStore,
} from "@verdict/verdict";
import { ALTERED_PARTS_KEY } from "@verdict/verdict/store-kit";

type Note = { type: "Note"; data: { text: string } };

/**
 * The audit trail cannot be bypassed: whatever a command carries, and
 * whatever its outcome, it leaves a record in `log` (the store's atomic log),
 * true to what the store holds; what the log cannot keep as given is changed
 * by the documented policy and listed under `verdict.altered`.
 */
export async function checkEveryCommandRecorded(
  t: Deno.TestContext,
  store: EventStore,
  log: CommandLogStore,
): Promise<void> {
  const bus = new CommandBus<Note | { type: "Refuse"; data: Record<string, never> }>({
    onError: (error) => {
      throw new Error(`the audit record was not written: ${error}`);
    },
  })
    .use(audit(log))
    .register(
      "Note",
      deciderHandler({
        decider: {
          initialState: () => 0,
          decide: (
            command: Note,
          ) => [{ type: "Noted", data: { text: command.data.text } }],
          evolve: (n: number) => n + 1,
        },
        store,
        streamId: () => "notes",
        // The dispatch's own metadata on the events too.
        metadata: (context) => ({ ...context.metadata }),
      }),
    )
    .register("Refuse", () => {
      throw new CommandRejectedError("refused", {
        code: "refused",
        details: { raw: "a\u0000b", lone: "x\uD800", big: 10n, when: new Date(0) },
      });
    });

  await t.step(
    "a rejection whose details hold NUL, a lone surrogate and a BigInt is recorded",
    async () => {
      const result = await bus.dispatch({ type: "Refuse", data: {} });
      assert.equal(result.status, "rejected");
      const record = await log.get(result.commandId);
      assert.equal(record?.status, "rejected");
      assert.deepEqual(record?.error?.details, {
        raw: "a\uFFFDb",
        lone: "x\uFFFD",
        big: "[unstorable: a BigInt]",
        when: "1970-01-01T00:00:00.000Z",
      });
      assert.deepEqual(record?.metadata[ALTERED_PARTS_KEY], [
        "error.details.raw",
        "error.details.lone",
        "error.details.big",
      ]);
    },
  );

  await t.step(
    "dispatch metadata with a NUL: the command fails with a typed error and is recorded",
    async () => {
      const result = await bus.dispatch(
        { type: "Note", data: { text: "hello" } },
        { metadata: { note: "a\u0000b" } },
      );
      assert.equal(result.status, "failed");
      assert.equal(
        result.status === "failed" && result.error.name,
        "UnstorableDataError",
      );
      const record = await log.get(result.commandId);
      assert.equal(record?.status, "failed");
      assert.equal(record?.metadata.note, "a\uFFFDb");
      assert.equal(await store.streamVersion("notes"), 0, "no event");
    },
  );

  await t.step(
    "a command of 100 KB is recorded, its outcome true to the store",
    async () => {
      const text = "x".repeat(100_000);
      const result = await bus.dispatch({ type: "Note", data: { text } });
      const record = await log.get(result.commandId);
      assert.equal(record?.status, result.status, "the record says what happened");
      const events = await store.readStream("notes");
      if (result.status === "accepted") {
        assert.deepEqual(record?.eventIds, events.map((e) => e.id));
      } else {
        assert.deepEqual(events, [], "a failed command wrote nothing");
      }
      const altered = record?.metadata[ALTERED_PARTS_KEY] as string[] | undefined;
      if (altered) {
        // Too large for the log: the payload gave way, with a marker.
        assert.deepEqual(altered, ["payload"]);
        assert.equal(record?.payloadCodec, "json");
        assert.match(String(record?.payload), /verdict\.truncated/);
      } else {
        assert.ok(String(record?.payload).includes(text), "the payload is whole");
      }
    },
  );
}
