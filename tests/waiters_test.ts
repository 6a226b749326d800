// The followers' waiting room every store shares (store kit): woken together,
// never missing an append between the look and the wait.
import assert from "node:assert/strict";
import { Waiters } from "@verdict/verdict/store-kit";

Deno.test("Waiters", async (t) => {
  await t.step("a look that finds events ends the wait at once", async () => {
    const waiters = new Waiters();
    await waiters.wait(new AbortController().signal, () => Promise.resolve(true));
    assert.equal(waiters.size, 0);
  });

  await t.step(
    "an append during the look wakes the waiter: it joined first",
    async () => {
      const waiters = new Waiters();
      const waiting = waiters.wait(new AbortController().signal, () => {
        waiters.wakeAll(); // the append lands while the waiter looks
        return Promise.resolve(false);
      });
      await waiting; // resolves: the wake was not lost
      assert.equal(waiters.size, 0);
    },
  );

  await t.step("wakeAll wakes every waiter, and only those waiting", async () => {
    const waiters = new Waiters();
    const signal = new AbortController().signal;
    const woken: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      waiters.wait(signal, () => Promise.resolve(false)).then(() => woken.push(n))
    );
    await Promise.resolve();
    assert.equal(waiters.size, 3);
    waiters.wakeAll();
    await Promise.all(waits);
    assert.deepEqual(woken.sort(), [1, 2, 3]);
    assert.equal(waiters.size, 0);
  });

  await t.step("an abort ends a wait", async () => {
    const waiters = new Waiters();
    const controller = new AbortController();
    const waiting = waiters.wait(controller.signal, () => Promise.resolve(false));
    controller.abort();
    await waiting;
    assert.equal(waiters.size, 0);
  });

  await t.step(
    "a look answering a delay ends the wait after it, with no wake (events held back)",
    async () => {
      const waiters = new Waiters();
      await waiters.wait(new AbortController().signal, () => Promise.resolve(1));
      assert.equal(waiters.size, 0);
    },
  );
});
