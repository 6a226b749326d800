// The system clock: a sleep ends, or is cut short by its signal with the
// signal's reason.
import assert from "node:assert/strict";
import { systemClock } from "@verdict/verdict";

Deno.test("systemClock", async (t) => {
  await t.step("sleep resolves", async () => {
    await systemClock.sleep(1);
  });

  await t.step("an abort ends a sleep with the signal's reason", async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error("stopped"));
    await assert.rejects(sleeping, /stopped/);
  });

  await t.step("a signal already aborted refuses the sleep at once", async () => {
    await assert.rejects(
      systemClock.sleep(60_000, AbortSignal.abort("gone")),
      (reason) => reason === "gone",
    );
  });
});
