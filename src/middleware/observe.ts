/**
 * A hook for logging and metrics.
 *
 * @module
 */

import type { Command, CommandContext, Middleware } from "../command_bus.ts";
import type { CommandResult } from "../command_result.ts";

/**
 * Callbacks of {@linkcode observe}.
 *
 * @example
 * ```ts
 * import { CommandBus, observe, type Observer } from "@verdict/verdict";
 *
 * const durations: number[] = [];
 * const metrics: Observer<{ type: string; data: unknown }> = {
 *   onOutcome: (_ctx, _result, durationMs) => durations.push(durationMs),
 * };
 * const bus = new CommandBus().use(observe(metrics));
 * ```
 */
export interface Observer<C extends Command> {
  /** Called when a command reaches this middleware. */
  readonly onDispatch?: (context: CommandContext<C>) => void;
  /** Called with every command's result and how long it took. */
  readonly onOutcome?: (
    context: CommandContext<C>,
    result: CommandResult,
    durationMs: number,
  ) => void;
}

/**
 * Calls your logging or metrics code around every command. Errors thrown by
 * the callbacks are reported through the bus's `onError` and never change
 * the command's outcome.
 *
 * @example Count outcomes
 * ```ts
 * import { CommandBus, observe } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const counts: Record<string, number> = {};
 * const bus = new CommandBus();
 * bus.use(observe({
 *   onOutcome: (_, result) => {
 *     counts[result.status] = (counts[result.status] ?? 0) + 1;
 *   },
 * }));
 * await bus.dispatch({ type: "Nobody", data: null }); // no handler: rejected
 * assert.deepEqual(counts, { rejected: 1 });
 * ```
 */
export function observe<C extends Command>(observer: Observer<C>): Middleware<C> {
  return async (context, next) => {
    try {
      observer.onDispatch?.(context);
    } catch (error) {
      context.reportError(error);
    }
    const result = await next();
    try {
      observer.onOutcome?.(context, result, context.clock.now() - context.startedAt);
    } catch (error) {
      context.reportError(error);
    }
    return result;
  };
}
