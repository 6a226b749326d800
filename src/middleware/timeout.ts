/**
 * Deadlines for commands.
 *
 * @module
 */

import type { Command, Middleware } from "../command_bus.ts";
import { CommandTimeoutError } from "../errors.ts";

/**
 * Gives every command a deadline `ms` after dispatch (or keeps the caller's
 * earlier one) and aborts `context.signal` when it passes.
 *
 * The deadline is enforced where stopping is safe: the decider handler checks
 * it before loading, before each append and while backing off, and your own
 * handlers can watch `context.signal`. An append already on its way to the
 * store is let finish, so a command never reports `failed` after its events
 * committed; a command past its deadline that has not committed fails with a
 * {@linkcode CommandTimeoutError}.
 *
 * @example
 * ```ts
 * import { CommandBus, CommandTimeoutError, timeout } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus();
 * bus.use(timeout(10));
 * bus.register("Slow", async (_, ctx) => {
 *   await ctx.clock.sleep(1_000, ctx.signal);
 *   return { events: [], streams: [] };
 * });
 *
 * const result = await bus.dispatch({ type: "Slow", data: null });
 * assert.equal(result.status, "failed");
 * if (result.status === "failed") assert.ok(result.error instanceof CommandTimeoutError);
 * ```
 */
export function timeout<C extends Command>(ms: number): Middleware<C> {
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new RangeError(`A timeout must be a positive number of ms, got ${ms}`);
  }
  return async (context, next) => {
    const deadline = Math.min(context.deadline ?? Infinity, context.startedAt + ms);
    context.deadline = deadline;
    const controller = new AbortController();
    const outer = context.signal;
    const onOuterAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) controller.abort(outer.reason);
    else outer?.addEventListener("abort", onOuterAbort, { once: true });
    context.signal = controller.signal;
    const timer = new AbortController();
    context.clock.sleep(Math.max(0, deadline - context.clock.now()), timer.signal)
      .then(
        () => controller.abort(new CommandTimeoutError(context.command.type, deadline)),
        () => {/* the command finished first */},
      );
    try {
      return await next();
    } finally {
      timer.abort();
      outer?.removeEventListener("abort", onOuterAbort);
    }
  };
}
