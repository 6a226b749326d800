/**
 * Deadlines for commands.
 *
 * @module
 */

import type { Command, Middleware } from "../command_bus.ts";
import type { CommandResult } from "../command_result.ts";
import { CommandTimeoutError } from "../errors.ts";

/**
 * Gives every command a deadline `ms` after dispatch (or keeps the caller's
 * earlier one), aborts `context.signal` when it passes, and settles the
 * dispatch then, whatever the handler and the store are doing: a store that
 * hangs cannot hold a command past its deadline.
 *
 * The decider handler checks the deadline before loading, before each
 * append and while backing off, and passes the signal to the store, which
 * checks it before it commits. A command past its deadline fails with a
 * {@linkcode CommandTimeoutError}. If an append was under way at that moment,
 * it may still land: its outcome is unknown, and dispatching the command
 * again under the same id answers with what happened (an accepted command
 * is never accepted twice, see `deciderHandler`).
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
 *
 * @example A handler that never answers still settles at the deadline
 * ```ts
 * import { CommandBus, timeout } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus().use(timeout(10));
 * bus.register("Stuck", () => new Promise(() => {}));
 * assert.equal((await bus.dispatch({ type: "Stuck", data: null })).status, "failed");
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
    const passed = context.clock.sleep(
      Math.max(0, deadline - context.clock.now()),
      timer.signal,
    ).then(
      (): CommandResult => {
        const error = new CommandTimeoutError(context.command.type, deadline);
        controller.abort(error);
        return { status: "failed", commandId: context.commandId, error };
      },
      // The command finished first: this never settles the race.
      () => new Promise<never>(() => {}),
    );
    try {
      return await Promise.race([next(), passed]);
    } finally {
      timer.abort();
      outer?.removeEventListener("abort", onOuterAbort);
    }
  };
}
