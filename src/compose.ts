/**
 * The onion: layers around an innermost function, each given the context
 * and a `next` that runs the layers below it — once. A second `next()` in
 * one run throws {@linkcode NextCalledTwiceError}, as Hono's `compose` does:
 * the layers below, and the handler, run once per dispatch.
 *
 * @module
 */

import { VerdictError } from "./errors.ts";

/** A layer of the onion: what `CommandBus.use` takes. */
export type Layer<X, R> = (context: X, next: () => Promise<R>) => Promise<R>;

/**
 * Composes `layers` (the first the outermost) around `innermost`, which must
 * not throw. A layer that throws or rejects is answered by `recover`;
 * `describe` names the context in a {@linkcode NextCalledTwiceError}.
 * Layers added to the array later are run too.
 */
export function compose<X, R>(
  layers: readonly Layer<X, R>[],
  innermost: (context: X) => Promise<R>,
  recover: (context: X, error: unknown) => R,
  describe: (context: X) => unknown,
): (context: X) => Promise<R> {
  const run = (context: X, index: number): Promise<R> => {
    if (index >= layers.length) return innermost(context);
    try {
      let inner: Promise<R> | undefined;
      const result = layers[index](context, () => {
        // Twice would run the handler twice for one command.
        if (inner !== undefined) throw new NextCalledTwiceError(describe(context));
        return inner = run(context, index + 1);
      });
      // A layer that hands on what `next()` returned passes on a promise
      // that never rejects: nothing to guard.
      if (result === inner) return result;
      return Promise.resolve(result).then(undefined, (error) => recover(context, error));
    } catch (error) {
      return Promise.resolve(recover(context, error));
    }
  };
  return (context) => run(context, 0);
}

/**
 * A middleware called `next()` a second time in one dispatch. The handler
 * runs once per dispatch, so the second call throws instead (as Hono's
 * `compose` does) and the command fails with this error.
 *
 * @example
 * ```ts
 * import { CommandBus, NextCalledTwiceError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * let runs = 0;
 * const bus = new CommandBus()
 *   .use(async (_context, next) => {
 *     await next();
 *     return next();
 *   })
 *   .register("Ping", () => {
 *     runs++;
 *     return { events: [], streams: [] };
 *   });
 * const result = await bus.dispatch({ type: "Ping", data: {} });
 * assert.equal(result.status, "failed");
 * assert.ok(result.status === "failed" && result.error instanceof NextCalledTwiceError);
 * assert.equal(runs, 1);
 * ```
 */
export class NextCalledTwiceError extends VerdictError {
  /** Creates the error for the command being dispatched. */
  constructor(commandType: unknown) {
    super(
      `A middleware called next() twice while dispatching ${
        typeof commandType === "string" ? `"${commandType}"` : "a command"
      }: the layers below, and the handler, run once per dispatch`,
    );
    this.name = "NextCalledTwiceError";
  }
}
