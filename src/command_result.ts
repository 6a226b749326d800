/**
 * What a dispatch answers: accepted (with the events written), rejected
 * (with the reason) or failed (with the error) — and what a handler returns.
 *
 * @module
 */

import { CommandRejectedError } from "./errors.ts";
import type { RecordedEvent } from "./event.ts";

/**
 * A stream's version after a command wrote to it.
 *
 * @example
 * ```ts
 * import type { StreamVersion } from "@verdict/verdict";
 *
 * const written: StreamVersion = { streamId: "account-1", version: 12 };
 * ```
 */
export interface StreamVersion {
  /** The stream. */
  readonly streamId: string;
  /** Its version after the write. */
  readonly version: number;
}

/**
 * What a handler returns for an accepted command.
 *
 * @example A handler that writes through the store itself
 * ```ts
 * import { CommandBus, type HandlerOutcome } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 *
 * const store = new MemoryEventStore();
 * const bus = new CommandBus();
 * bus.register("Log", async (command): Promise<HandlerOutcome> => {
 *   const result = await store.appendToStream("log", [{ type: "Logged", data: command.data }]);
 *   return {
 *     events: result.events,
 *     streams: [{ streamId: "log", version: result.nextExpectedVersion }],
 *   };
 * });
 * ```
 */
export interface HandlerOutcome {
  /** The events the command wrote (empty when it decided nothing). */
  readonly events: readonly RecordedEvent[];
  /** The streams it wrote to, with their new versions. */
  readonly streams: readonly StreamVersion[];
}

/**
 * The command was accepted; its events are committed.
 *
 * @example
 * ```ts
 * import { CommandBus } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus().register("Ok", () => ({ events: [], streams: [] }));
 * const result = await bus.dispatch({ type: "Ok", data: null });
 * assert.equal(result.status, "accepted");
 * if (result.status === "accepted") assert.deepEqual(result.events, []);
 * ```
 */
export interface AcceptedResult extends HandlerOutcome {
  /** Discriminant. */
  readonly status: "accepted";
  /** The command's id. */
  readonly commandId: string;
  /**
   * Set by the `audit` middleware: `true` when the command's record
   * committed in the same transaction as its events, `false` when it was
   * written after them (the audit's log is not the event store's own, or
   * the handler does not commit records) and so could be lost to a crash in
   * between. Absent when no audit ran.
   */
  readonly recordedAtomically?: boolean;
}

/**
 * The command was refused by the domain or by validation; nothing was written.
 *
 * @example
 * ```ts
 * import { CommandBus, CommandRejectedError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus().register("No", () => {
 *   throw new CommandRejectedError("not today");
 * });
 * const result = await bus.dispatch({ type: "No", data: null });
 * assert.equal(result.status, "rejected");
 * if (result.status === "rejected") assert.equal(result.reason.message, "not today");
 * ```
 */
export interface RejectedResult {
  /** Discriminant. */
  readonly status: "rejected";
  /** The command's id. */
  readonly commandId: string;
  /** Why it was refused. */
  readonly reason: CommandRejectedError;
}

/**
 * The command failed (infrastructure, timeout, conflicts, a bug); nothing was written.
 *
 * @example
 * ```ts
 * import { CommandBus } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus().register("Boom", () => {
 *   throw new Error("disk full");
 * });
 * const result = await bus.dispatch({ type: "Boom", data: null });
 * assert.equal(result.status, "failed");
 * if (result.status === "failed") assert.equal(result.error.message, "disk full");
 * ```
 */
export interface FailedResult {
  /** Discriminant. */
  readonly status: "failed";
  /** The command's id. */
  readonly commandId: string;
  /** What went wrong. */
  readonly error: Error;
}

/**
 * The outcome of a dispatch.
 *
 * @example Answer an HTTP request from the result
 * ```ts
 * import { CommandBus, CommandRejectedError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const bus = new CommandBus();
 * bus.register("Ok", () => ({ events: [], streams: [] }));
 * bus.register("No", () => {
 *   throw new CommandRejectedError("not today");
 * });
 * bus.register("Boom", () => {
 *   throw new Error("disk full");
 * });
 *
 * function httpStatus(result: import("@verdict/verdict").CommandResult): number {
 *   switch (result.status) {
 *     case "accepted":
 *       return 200;
 *     case "rejected":
 *       return 422;
 *     case "failed":
 *       return 500;
 *   }
 * }
 * assert.equal(httpStatus(await bus.dispatch({ type: "No", data: null })), 422);
 * ```
 */
export type CommandResult = AcceptedResult | RejectedResult | FailedResult;

/**
 * Turns an error thrown by a handler or middleware into a result: a
 * {@linkcode CommandRejectedError} (including validation) is a rejection,
 * anything else a failure.
 *
 * @example
 * ```ts
 * import { CommandRejectedError, resultFromError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const result = resultFromError("cmd-1", new CommandRejectedError("no"));
 * assert.equal(result.status, "rejected");
 * assert.equal(resultFromError("cmd-1", new Error("db down")).status, "failed");
 * ```
 */
export function resultFromError(
  commandId: string,
  error: unknown,
): RejectedResult | FailedResult {
  if (error instanceof CommandRejectedError) {
    return { status: "rejected", commandId, reason: error };
  }
  return {
    status: "failed",
    commandId,
    error: error instanceof Error ? error : new Error(String(error)),
  };
}
