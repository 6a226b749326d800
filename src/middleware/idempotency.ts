/**
 * Idempotent dispatch: the same key yields the first result.
 *
 * @module
 */

import type { Command, CommandContext, Middleware } from "../command_bus.ts";
import type { CommandResult } from "../command_result.ts";

/**
 * Options of {@linkcode idempotency}.
 *
 * @example Deduplicate by an id inside the payload
 * ```ts
 * import { type Command, CommandBus, idempotency, type IdempotencyOptions } from "@verdict/verdict";
 *
 * type Pay = Command<"Pay", { paymentId: string; amount: number }>;
 * const options: IdempotencyOptions<Pay> = {
 *   ttlMs: 60 * 60 * 1000,
 *   keyOf: (ctx) => ctx.command.data.paymentId,
 * };
 * const bus = new CommandBus<Pay>().use(idempotency(options));
 * ```
 */
export interface IdempotencyOptions<C extends Command> {
  /** How long a result is remembered, in ms (default 24 hours). */
  readonly ttlMs?: number;
  /** How many keys are remembered at most; the oldest go first (default 100,000). */
  readonly maxEntries?: number;
  /**
   * The key of a command (default: the dispatch context's `idempotencyKey`).
   * Commands without a key are not deduplicated.
   */
  readonly keyOf?: (context: CommandContext<C>) => string | undefined;
}

interface Remembered {
  readonly result: Promise<CommandResult>;
  readonly expiresAt: number;
}

/**
 * Makes dispatch idempotent per key: a command whose key was seen before does
 * not run again; it gets the first dispatch's result (also while the first is
 * still running). Accepted and rejected results are remembered; a failed
 * result is forgotten so the caller can retry. Results are kept in this
 * process's memory for `ttlMs`.
 *
 * @example
 * ```ts
 * import { CommandBus, idempotency } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * let runs = 0;
 * const bus = new CommandBus();
 * bus.use(idempotency());
 * bus.register("Pay", () => {
 *   runs++;
 *   return { events: [], streams: [] };
 * });
 *
 * const first = await bus.dispatch({ type: "Pay", data: 10 }, { idempotencyKey: "k-1" });
 * const again = await bus.dispatch({ type: "Pay", data: 10 }, { idempotencyKey: "k-1" });
 * assert.equal(runs, 1);
 * assert.equal(again.commandId, first.commandId);
 * ```
 */
export function idempotency<C extends Command>(
  options: IdempotencyOptions<C> = {},
): Middleware<C> {
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const maxEntries = options.maxEntries ?? 100_000;
  if (!(ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${ttlMs}`);
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries must be an integer >= 1, got ${maxEntries}`);
  }
  const keyOf = options.keyOf ?? ((context) => context.idempotencyKey);
  const seen = new Map<string, Remembered>();

  return (context, next) => {
    const key = keyOf(context);
    if (key === undefined) return next();
    const now = context.clock.now();
    const known = seen.get(key);
    if (known && known.expiresAt > now) return known.result;
    if (known) seen.delete(key);
    if (seen.size >= maxEntries) seen.delete(seen.keys().next().value as string);

    const result = next();
    const entry = { result, expiresAt: now + ttlMs };
    seen.set(key, entry);
    result.then((outcome) => {
      if (outcome.status === "failed" && seen.get(key) === entry) seen.delete(key);
    }, () => {
      if (seen.get(key) === entry) seen.delete(key);
    });
    return result;
  };
}
