/**
 * The command bus: handlers by command type, an onion of middleware around
 * them, and a result for every dispatch — accepted, rejected or failed.
 *
 * @module
 */

import type { AtomicAuditRequest } from "./atomic_audit.ts";
import { type Clock, systemClock } from "./clock.ts";
import {
  type CommandResult,
  type HandlerOutcome,
  resultFromError,
} from "./command_result.ts";
import { compose } from "./compose.ts";
import { UnknownCommandError, ValidationError } from "./errors.ts";
import { commandIdOf, uuidv7 } from "./uuid.ts";

/**
 * A command: an intent, named in the imperative, with its data.
 *
 * @example A domain's commands as a discriminated union
 * ```ts
 * import { type Command, CommandBus } from "@verdict/verdict";
 *
 * type CartCommand =
 *   | Command<"AddItem", { cartId: string; sku: string }>
 *   | Command<"CheckOut", { cartId: string }>;
 * const bus = new CommandBus<CartCommand>();
 * ```
 */
export interface Command<Type extends string = string, Data = unknown> {
  /** What is asked for, e.g. `"Deposit"`. */
  readonly type: Type;
  /** The facts of the request. */
  readonly data: Data;
}

/**
 * What the caller tells the bus about a dispatch. Every field is optional.
 *
 * @example Carry a request's identity into the command
 * ```ts
 * import { CommandBus, type DispatchContext } from "@verdict/verdict";
 *
 * const bus = new CommandBus();
 * bus.register("Ping", () => ({ events: [], streams: [] }));
 * const context: DispatchContext = {
 *   correlationId: "req-7f3a",
 *   principal: "user-42",
 *   tenantId: "acme",
 *   idempotencyKey: "ping-2026-01-01",
 *   deadline: Date.now() + 2_000,
 *   metadata: { ip: "203.0.113.9" },
 * };
 * await bus.dispatch({ type: "Ping", data: null }, context);
 * ```
 */
export interface DispatchContext {
  /** The command's id (a UUIDv7 is generated when absent). */
  readonly commandId?: string;
  /** Continues an existing correlation; see the `correlation()` middleware. */
  readonly correlationId?: string;
  /** The command or event that caused this command. */
  readonly causationId?: string;
  /** Who is asking (a user or service id). */
  readonly principal?: string;
  /** The tenant the command belongs to. */
  readonly tenantId?: string;
  /**
   * The same key dispatched twice yields the first result: without a
   * `commandId`, the command's id is derived from the key (`commandIdOf`),
   * which the audit log records with the command's events.
   */
  readonly idempotencyKey?: string;
  /** Milliseconds since the epoch after which the command must not commit. */
  readonly deadline?: number;
  /** Aborts the command before it commits. */
  readonly signal?: AbortSignal;
  /** Anything else to carry along, e.g. the client's IP or a trace id. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * What middleware and handlers see of one dispatch. Middleware may enrich it
 * (correlation, deadline, signal) before calling `next`.
 *
 * @example A middleware that stamps the tenant from metadata
 * ```ts
 * import { CommandBus, type CommandContext } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus();
 * bus.use((ctx: CommandContext, next) => {
 *   ctx.tenantId ??= String(ctx.metadata["x-tenant"] ?? "default");
 *   return next();
 * });
 * let tenant: string | undefined;
 * bus.register("Ping", (_, ctx) => {
 *   tenant = ctx.tenantId;
 *   return { events: [], streams: [] };
 * });
 * await bus.dispatch({ type: "Ping", data: null }, { metadata: { "x-tenant": "acme" } });
 * assert.equal(tenant, "acme");
 * ```
 */
export interface CommandContext<C extends Command = Command> {
  /** The command; validation middleware may replace it with the parsed one. */
  command: C;
  /** The command's id. */
  readonly commandId: string;
  /** The correlation id, once set by the caller or middleware. */
  correlationId?: string;
  /** The cause of this command, if any. */
  causationId?: string;
  /** Who is asking. */
  principal?: string;
  /** The tenant. */
  tenantId?: string;
  /** The idempotency key. */
  idempotencyKey?: string;
  /** Milliseconds since the epoch after which the command must not commit. */
  deadline?: number;
  /** Aborted when the command must stop (deadline, caller's cancellation). */
  signal?: AbortSignal;
  /** Extra metadata from the caller and middleware. */
  metadata: Record<string, unknown>;
  /** When the dispatch began (from the bus's clock). */
  readonly startedAt: number;
  /** The bus's clock. */
  readonly clock: Clock;
  /** Set by the audit middleware when it wants the record written atomically. */
  atomicAudit?: AtomicAuditRequest;
  /** Reports an error that must not change the command's outcome (the bus's `onError`). */
  reportError(error: unknown): void;
}

/**
 * The member of the command union `C` whose type is `T`; `C` itself when the
 * union is not discriminated by literal types (an untyped bus).
 *
 * @example
 * ```ts
 * import type { Command, CommandOfType } from "@verdict/verdict";
 *
 * type Cart = Command<"Add", { sku: string }> | Command<"Clear", null>;
 * const add: CommandOfType<Cart, "Add"> = { type: "Add", data: { sku: "A-1" } };
 * ```
 */
export type CommandOfType<C extends Command, T extends string> = [
  Extract<C, { type: T }>,
] extends [never] ? C
  : Extract<C, { type: T }>;

/**
 * Runs one command type. Throw a {@linkcode CommandRejectedError} to refuse.
 *
 * @example
 * ```ts
 * import { type Command, CommandBus, type CommandHandler } from "@verdict/verdict";
 *
 * type Greet = Command<"Greet", { name: string }>;
 * const greet: CommandHandler<Greet> = (command) => {
 *   console.log(`hello, ${command.data.name}`);
 *   return { events: [], streams: [] };
 * };
 * new CommandBus<Greet>().register("Greet", greet);
 * ```
 */
export type CommandHandler<C extends Command = Command> = (
  command: C,
  context: CommandContext<C>,
) => HandlerOutcome | Promise<HandlerOutcome>;

/**
 * A layer of the onion around every handler. It sees the context before the
 * handler runs and the result after; it may short-circuit by not calling
 * `next`.
 *
 * @example Time every command
 * ```ts
 * import { CommandBus, type Middleware } from "@verdict/verdict";
 *
 * const timing: Middleware = async (ctx, next) => {
 *   const result = await next();
 *   console.log(`${ctx.command.type} ${result.status} in ${ctx.clock.now() - ctx.startedAt} ms`);
 *   return result;
 * };
 * new CommandBus().use(timing);
 * ```
 */
export type Middleware<C extends Command = Command> = (
  context: CommandContext<C>,
  next: () => Promise<CommandResult>,
) => Promise<CommandResult>;

/**
 * Options of a {@linkcode CommandBus}.
 *
 * @example Send errors outside outcomes to your logger
 * ```ts
 * import { CommandBus, type CommandBusOptions } from "@verdict/verdict";
 *
 * const options: CommandBusOptions = {
 *   onError: (error, ctx) => console.warn(`after ${ctx.command.type}:`, error),
 * };
 * const bus = new CommandBus(options);
 * ```
 */
export interface CommandBusOptions {
  /**
   * Called with errors that must not change a command's outcome, e.g. an
   * audit record that could not be written. Defaults to `console.error`.
   */
  onError?: (error: unknown, context: CommandContext) => void;
  /** The clock for timestamps and deadlines (default: the system clock). */
  clock?: Clock;
}

/**
 * Runs commands through middleware to their handlers. `dispatch` never
 * throws for a command's outcome: it returns an accepted, rejected or failed
 * result.
 *
 * @typeParam C The union of commands the bus accepts.
 *
 * @example A bus with one handler and a logging middleware
 * ```ts
 * import { CommandBus, type Command } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * type Greet = Command<"Greet", { name: string }>;
 * const bus = new CommandBus<Greet>();
 * const seen: string[] = [];
 * bus.use(async (ctx, next) => {
 *   const result = await next();
 *   seen.push(`${ctx.command.type}: ${result.status}`);
 *   return result;
 * });
 * bus.register("Greet", () => ({ events: [], streams: [] }));
 *
 * const result = await bus.dispatch({ type: "Greet", data: { name: "Ada" } });
 * assert.equal(result.status, "accepted");
 * assert.deepEqual(seen, ["Greet: accepted"]);
 * ```
 */
export class CommandBus<C extends Command = Command> {
  readonly #handlers = new Map<string, CommandHandler<C>>();
  readonly #middleware: Middleware<C>[] = [];
  readonly #onError: (error: unknown, context: CommandContext) => void;
  readonly #clock: Clock;

  // The handler under every layer (a field, so the onion calls it directly).
  // Promise chains rather than async functions: each suspended async call
  // costs several hundred bytes.
  readonly #handle = (ctx: Dispatch<C>): Promise<CommandResult> => {
    try {
      const command = ctx.command;
      if (
        typeof command !== "object" || command === null ||
        typeof command.type !== "string"
      ) {
        throw new ValidationError(String(command?.type ?? "unknown"), [{
          path: ["type"],
          message: "a command must be an object with a string type",
        }]);
      }
      const handler = this.#handlers.get(command.type);
      if (!handler) throw new UnknownCommandError(command.type);
      const outcome = handler(command, ctx);
      if (!isThenable(outcome)) return Promise.resolve(accepted(ctx.commandId, outcome));
      return Promise.resolve(outcome).then(
        (outcome) => accepted(ctx.commandId, outcome),
        (error) => resultFromError(ctx.commandId, error),
      );
    } catch (error) {
      return Promise.resolve(resultFromError(ctx.commandId, error));
    }
  };

  /** The onion: every middleware, in the order added, around the handler. */
  readonly #run = compose<Dispatch<C>, CommandResult>(
    this.#middleware,
    this.#handle,
    (ctx, error) => resultFromError(ctx.commandId, error),
    (ctx) => ctx.command?.type,
  );

  /** Creates a bus with no handlers and no middleware. */
  constructor(options: CommandBusOptions = {}) {
    this.#onError = options.onError ??
      ((error, context) =>
        console.error(
          `verdict: error outside the outcome of ${context.command.type} ${context.commandId}:`,
          error,
        ));
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Registers the handler of one command type.
   *
   * @throws {Error} when the type already has a handler.
   */
  register<T extends C["type"]>(
    type: T,
    handler: CommandHandler<CommandOfType<C, T>>,
  ): this {
    if (typeof type !== "string" || type.length === 0) {
      throw new TypeError("A command type must be a non-empty string");
    }
    if (this.#handlers.has(type)) {
      throw new Error(`A handler for "${type}" is already registered`);
    }
    this.#handlers.set(type, handler as unknown as CommandHandler<C>);
    return this;
  }

  /**
   * Adds a middleware. The first one added is the outermost: it runs first
   * and sees the final result last.
   */
  use(middleware: Middleware<C>): this {
    if (typeof middleware !== "function") {
      throw new TypeError("A middleware must be a function (context, next)");
    }
    this.#middleware.push(middleware);
    return this;
  }

  /** Dispatches a command and resolves to its result. */
  dispatch(command: C, context: DispatchContext = {}): Promise<CommandResult> {
    return this.#run(new Dispatch<C>(command, context, this.#clock, this.#onError));
  }

  /** Whether a handler is registered for this command type. */
  handles(type: string): boolean {
    return this.#handlers.has(type);
  }
}

/** One dispatch's context: a class, so every dispatch has the same shape. */
class Dispatch<C extends Command> implements CommandContext<C> {
  command: C;
  readonly commandId: string;
  correlationId?: string;
  causationId?: string;
  principal?: string;
  tenantId?: string;
  idempotencyKey?: string;
  deadline?: number;
  signal?: AbortSignal;
  metadata: Record<string, unknown>;
  readonly startedAt: number;
  readonly clock: Clock;
  atomicAudit?: AtomicAuditRequest;
  readonly #onError: (error: unknown, context: CommandContext) => void;

  constructor(
    command: C,
    context: DispatchContext,
    clock: Clock,
    onError: (error: unknown, context: CommandContext) => void,
  ) {
    this.command = command;
    const now = clock.now();
    // One clock read serves both: on the system clock the id carries it.
    // An idempotency key stands for one command id: the log records it, so
    // the key is kept with the command, atomically and durably.
    this.commandId = context.commandId ??
      (context.idempotencyKey !== undefined
        ? commandIdOf(context.idempotencyKey)
        : clock === systemClock
        ? uuidv7(now)
        : uuidv7());
    this.correlationId = context.correlationId;
    this.causationId = context.causationId;
    this.principal = context.principal;
    this.tenantId = context.tenantId;
    this.idempotencyKey = context.idempotencyKey;
    this.deadline = context.deadline;
    this.signal = context.signal;
    this.metadata = context.metadata ? { ...context.metadata } : {};
    this.startedAt = now;
    this.clock = clock;
    this.atomicAudit = undefined;
    this.#onError = onError;
  }

  reportError(error: unknown): void {
    try {
      this.#onError(error, this as unknown as CommandContext);
    } catch {
      // An error hook that throws must not change the command's outcome.
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<HandlerOutcome> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/** The accepted result of a handler's outcome; a failure when it is not one. */
function accepted(commandId: string, outcome: HandlerOutcome): CommandResult {
  if (typeof outcome !== "object" || outcome === null) {
    return resultFromError(
      commandId,
      new TypeError(
        `A handler must return { events, streams }, got ${
          outcome === null ? "null" : typeof outcome
        }`,
      ),
    );
  }
  return {
    status: "accepted",
    commandId,
    events: outcome.events,
    streams: outcome.streams,
  };
}
