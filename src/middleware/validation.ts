/**
 * Validation of command payloads with zod (or any schema with `safeParse`).
 *
 * @module
 */

import type { Command, Middleware } from "../command_bus.ts";
import { UnknownCommandError, ValidationError, type ValidationIssue } from "../errors.ts";

/**
 * The part of a schema the validation middleware uses: zod's `safeParse`.
 * Zod 3 and 4 schemas fit it, as does any validator with the same shape, so
 * the core needs no dependency on zod.
 *
 * @example A schema without zod
 * ```ts
 * import { CommandBus, type PayloadSchema, validate } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const positive: PayloadSchema<number> = {
 *   safeParse: (input) =>
 *     typeof input === "number" && input > 0
 *       ? { success: true, data: input }
 *       : { success: false, error: { issues: [{ path: [], message: "must be a positive number" }] } },
 * };
 * const bus = new CommandBus().use(validate({ Pay: positive }));
 * bus.register("Pay", () => ({ events: [], streams: [] }));
 * assert.equal((await bus.dispatch({ type: "Pay", data: -1 })).status, "rejected");
 * ```
 */
export interface PayloadSchema<T = unknown> {
  /** Parses the payload, returning the parsed value or the issues found. */
  safeParse(input: unknown):
    | { success: true; data: T }
    | {
      success: false;
      error: {
        issues: readonly {
          path: readonly PropertyKey[];
          message: string;
          code?: string;
        }[];
      };
    };
}

/**
 * Options of {@linkcode validate}.
 *
 * @example A closed list of commands
 * ```ts
 * import { CommandBus, type ValidateOptions, validate } from "@verdict/verdict";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * const options: ValidateOptions = { unknownCommands: "reject" };
 * const bus = new CommandBus().use(validate({ Pay: z.number() }, options));
 * bus.register("Refund", () => ({ events: [], streams: [] }));
 * assert.equal((await bus.dispatch({ type: "Refund", data: 1 })).status, "rejected");
 * ```
 */
export interface ValidateOptions {
  /**
   * What to do with a command type that has no schema: `"reject"` refuses it
   * (a closed list of commands), `"pass"` (the default) lets it through.
   */
  readonly unknownCommands?: "reject" | "pass";
}

/**
 * Validates each command's `data` against the schema of its type. An invalid
 * payload becomes a `rejected` result carrying a {@linkcode ValidationError}
 * with every issue and its path; the handler does not run. A valid payload
 * is replaced by the parsed value (zod's defaults and coercions apply).
 *
 * @example With zod
 * ```ts
 * import { CommandBus, type Command, validate, ValidationError } from "@verdict/verdict";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * type Deposit = Command<"Deposit", { amount: number }>;
 * const bus = new CommandBus<Deposit>();
 * bus.use(validate({ Deposit: z.object({ amount: z.number().positive() }) }));
 * bus.register("Deposit", () => ({ events: [], streams: [] }));
 *
 * const result = await bus.dispatch({ type: "Deposit", data: { amount: -5 } });
 * assert.equal(result.status, "rejected");
 * if (result.status === "rejected") {
 *   assert.ok(result.reason instanceof ValidationError);
 *   assert.deepEqual(result.reason.issues[0].path, ["amount"]);
 * }
 * ```
 */
export function validate<C extends Command>(
  schemas: { readonly [T in C["type"]]?: PayloadSchema },
  options: ValidateOptions = {},
): Middleware<C> {
  if (typeof schemas !== "object" || schemas === null || Array.isArray(schemas)) {
    throw new TypeError(
      `validate() takes an object of schemas by command type, got ${
        schemas === null ? "null" : Array.isArray(schemas) ? "an array" : typeof schemas
      }`,
    );
  }
  const bySchema = schemas as Readonly<Record<string, PayloadSchema | undefined>>;
  for (const [type, schema] of Object.entries(bySchema)) {
    if (schema !== undefined && typeof schema?.safeParse !== "function") {
      throw new TypeError(
        `validate(): the schema for "${type}" has no safeParse() (pass a zod schema or anything with one)`,
      );
    }
  }
  return (context, next) => {
    const { command } = context;
    const schema = Object.hasOwn(bySchema, command.type)
      ? bySchema[command.type]
      : undefined;
    if (!schema) {
      if (options.unknownCommands === "reject") {
        throw new UnknownCommandError(command.type);
      }
      return next();
    }
    const parsed = schema.safeParse(command.data);
    if (!parsed.success) {
      throw new ValidationError(
        command.type,
        parsed.error.issues.map((issue): ValidationIssue => ({
          path: issue.path.map((key) => typeof key === "number" ? key : String(key)),
          message: issue.message,
          ...(issue.code === undefined ? {} : { code: issue.code }),
        })),
      );
    }
    context.command = { ...command, data: parsed.data };
    return next();
  };
}
