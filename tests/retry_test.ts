// The backoff every retry loop uses (decider handler conflicts, subscription
// errors): full jitter under a cap that doubles per retry, never past the
// largest delay.
import assert from "node:assert/strict";
import { backoffDelay, resolveRetryPolicy } from "@verdict/verdict/store-kit";

Deno.test("retry policy and backoff", async (t) => {
  await t.step("the defaults: 10 attempts, 2 ms doubling to 250 ms", () => {
    const policy = resolveRetryPolicy();
    assert.deepEqual(
      [policy.maxAttempts, policy.baseDelayMs, policy.maxDelayMs],
      [10, 2, 250],
    );
  });

  await t.step("the cap doubles per retry and stops at maxDelayMs", () => {
    const highest = resolveRetryPolicy({
      baseDelayMs: 2,
      maxDelayMs: 50,
      random: () => 1,
    });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((retry) => backoffDelay(highest, retry)),
      [2, 4, 8, 16, 32, 50, 50],
    );
  });

  await t.step("each delay is drawn between 0 and the cap", () => {
    const draws = [0, 0.25, 0.999];
    let i = 0;
    const policy = resolveRetryPolicy({ baseDelayMs: 8, random: () => draws[i++] });
    assert.deepEqual(draws.map(() => backoffDelay(policy, 1)), [0, 2, 7.992]);
  });

  await t.step("bad policies are refused with a RangeError", () => {
    for (
      const bad of [{ maxAttempts: 0 }, { maxAttempts: 1.5 }, { baseDelayMs: -1 }, {
        maxDelayMs: Number.NaN,
      }]
    ) {
      assert.throws(() => resolveRetryPolicy(bad), RangeError, JSON.stringify(bad));
    }
  });
});
