/**
 * Correlation and causation: start a chain or continue one.
 *
 * @module
 */

import type { Command, CommandContext, Middleware } from "../command_bus.ts";

/**
 * Options of {@linkcode correlation}.
 *
 * @example Continue a chain from an HTTP header
 * ```ts
 * import { CommandBus, correlation, type CorrelationOptions } from "@verdict/verdict";
 *
 * const options: CorrelationOptions<{ type: string; data: unknown }> = {
 *   derive: (ctx) => ({ correlationId: ctx.metadata["x-request-id"] as string | undefined }),
 * };
 * const bus = new CommandBus().use(correlation(options));
 * ```
 */
export interface CorrelationOptions<C extends Command> {
  /**
   * Derives the correlation and causation ids from the context, e.g. from an
   * incoming request's headers carried in `metadata`. Fields it leaves
   * undefined fall back to the defaults.
   */
  readonly derive?: (
    context: CommandContext<C>,
  ) => { correlationId?: string; causationId?: string };
}

/**
 * Makes every command part of a correlation chain: a command dispatched with
 * a correlation id continues that chain; one without starts a new chain
 * whose id is the command's own id. The decider handler then stamps events
 * with the correlation id and the command id as causation id, and a
 * follow-up command dispatched with `causedBy(event)` continues the chain.
 *
 * @example
 * ```ts
 * import { CommandBus, correlation } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus();
 * bus.use(correlation());
 * let seen: string | undefined;
 * bus.register("Ping", (_, ctx) => {
 *   seen = ctx.correlationId;
 *   return { events: [], streams: [] };
 * });
 *
 * const result = await bus.dispatch({ type: "Ping", data: null });
 * assert.equal(seen, result.commandId);
 * await bus.dispatch({ type: "Ping", data: null }, { correlationId: "c-1" });
 * assert.equal(seen, "c-1");
 * ```
 */
export function correlation<C extends Command>(
  options: CorrelationOptions<C> = {},
): Middleware<C> {
  return (context, next) => {
    const derived = options.derive?.(context);
    context.correlationId = context.correlationId ?? derived?.correlationId ??
      context.commandId;
    context.causationId = context.causationId ?? derived?.causationId;
    return next();
  };
}
