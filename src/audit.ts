/**
 * The audit middleware: a {@linkcode CommandRecord} for every dispatched
 * command, accepted, rejected or failed.
 *
 * @module
 */

import type { AtomicAuditRequest } from "./atomic_audit.ts";
import type { Command, CommandContext, Middleware } from "./command_bus.ts";
import type { CommandResult } from "./command_result.ts";
import {
  CommandAlreadyRecordedError,
  type CommandLogStore,
  type CommandRecord,
  type CommandRecordError,
  type CommandStatus,
  jsonCodec,
  type PayloadCodec,
} from "./command_log.ts";
import { CommandRejectedError, ValidationError, VerdictError } from "./errors.ts";

/**
 * Options of {@linkcode audit}.
 *
 * @example
 * ```ts
 * import { audit, type AuditOptions, type Command } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * type SignUp = Command<"SignUp", { email: string; password: string }>;
 * const options: AuditOptions<SignUp> = {
 *   redact: ["data.password"],
 *   correlationId: (ctx) => String(ctx.metadata["x-request-id"] ?? ctx.commandId),
 *   metadata: (ctx) => ({ userId: ctx.principal, ip: ctx.metadata.ip }),
 * };
 * const middleware = audit(new MemoryCommandLog(), options);
 * ```
 */
export interface AuditOptions<C extends Command> {
  /** Encodes the command for the log (default {@linkcode jsonCodec}). */
  readonly codec?: PayloadCodec;
  /**
   * Paths of fields to replace with `"[REDACTED]"` before the command is
   * encoded, as dotted paths into the command, e.g. `"data.password"` or
   * `"data.card.number"`. Array elements are addressed by index or `*`.
   */
  readonly redact?: readonly string[];
  /** Derives the correlation id (default: the context's, else the command id). */
  readonly correlationId?: (context: CommandContext<C>) => string;
  /**
   * Derives the record's metadata (default: the principal as `userId`, the
   * `tenantId`, and the context's `metadata`, e.g. the client IP).
   */
  readonly metadata?: (context: CommandContext<C>) => Record<string, unknown>;
}

/**
 * The audit record of a command could not be written. For a rejection it is
 * the error of the `failed` result the dispatch answers (the refusal is not
 * final until recorded: send the command again under its id); otherwise it
 * is reported through the bus's `onError` hook, and the command's own result
 * is unchanged.
 *
 * @example
 * ```ts
 * import { AuditWriteError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new AuditWriteError("cmd-1", new Error("disk full"));
 * assert.equal(error.commandId, "cmd-1");
 * ```
 */
export class AuditWriteError extends VerdictError {
  /** The command whose record was lost. */
  readonly commandId: string;
  /** Creates the error for the command whose record failed to write. */
  constructor(commandId: string, cause: unknown) {
    super(
      `The audit record of command ${commandId} could not be written: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "AuditWriteError";
    this.commandId = commandId;
  }
}

const REDACTED = "[REDACTED]";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Returns a copy of `value` with the fields at `paths` replaced by
 * `"[REDACTED]"`; the original is not touched.
 *
 * @example
 * ```ts
 * import { redact } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const command = { type: "SignUp", data: { email: "a@b.c", password: "hunter2" } };
 * assert.deepEqual(redact(command, ["data.password"]), {
 *   type: "SignUp",
 *   data: { email: "a@b.c", password: "[REDACTED]" },
 * });
 * assert.equal(command.data.password, "hunter2");
 * ```
 */
export function redact<T>(value: T, paths: readonly string[]): T {
  let result: unknown = value;
  for (const path of paths) result = redactPath(result, path.split("."));
  return result as T;
}

function redactPath(value: unknown, keys: readonly string[]): unknown {
  if (keys.length === 0 || typeof value !== "object" || value === null) {
    return value;
  }
  const [key, ...rest] = keys;
  // The field at `key`: redacted when the path ends here, else walked on.
  const redactField = (field: unknown) =>
    rest.length ? redactPath(field, rest) : REDACTED;
  if (Array.isArray(value)) {
    if (key === "*") return value.map(redactField);
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= value.length) return value;
    const copy = [...value];
    copy[index] = redactField(copy[index]);
    return copy;
  }
  const record = value as Record<string, unknown>;
  if (key === "*") {
    // fromEntries defines own properties: a "__proto__" key (JSON.parse makes
    // one) stays a key, where `copy[k] = v` would set the copy's prototype
    // outside Deno and drop the field from the log.
    return Object.fromEntries(
      Object.entries(record).map(([k, v]) => [k, redactField(v)]),
    );
  }
  if (!Object.hasOwn(record, key)) return value;
  return { ...record, [key]: redactField(record[key]) };
}

/**
 * Turns a rejection or failure into the error a command record keeps.
 *
 * @example
 * ```ts
 * import { recordErrorOf, ValidationError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = recordErrorOf(
 *   new ValidationError("Deposit", [{ path: ["amount"], message: "too small" }]),
 * );
 * assert.equal(error.name, "ValidationError");
 * assert.deepEqual(error.issues, [{ path: ["amount"], message: "too small" }]);
 * ```
 */
export function recordErrorOf(error: Error): CommandRecordError {
  const recorded: {
    name: string;
    message: string;
    code?: string;
    issues?: ValidationError["issues"];
    details?: Readonly<Record<string, unknown>>;
  } = { name: error.name, message: error.message };
  if (error instanceof CommandRejectedError) {
    recorded.code = error.code;
    if (error.details !== undefined) recorded.details = error.details;
  }
  if (error instanceof ValidationError) recorded.issues = error.issues;
  return recorded;
}

function defaultRecordMetadata(context: CommandContext): Record<string, unknown> {
  const metadata: Record<string, unknown> = { ...context.metadata };
  if (context.principal !== undefined) metadata.userId = context.principal;
  if (context.tenantId !== undefined) metadata.tenantId = context.tenantId;
  return metadata;
}

/**
 * Records every dispatched command in a {@linkcode CommandLogStore}: what was
 * asked (type, payload as sent, redacted and encoded; metadata), what was
 * decided (accepted, rejected with the reason, failed with the error), what
 * it caused (event and stream ids), how long it took, and its correlation
 * and causation. Put it first (outermost) so it sees the command as the user
 * sent it and every outcome, including those of other middleware.
 *
 * When the command log is the event store's own `commandLog`, the decider
 * handler commits an accepted command's record in the same transaction as
 * its events; the accepted result says so (`recordedAtomically: true`).
 * Otherwise the record is written after the decision, tried up to three
 * times (a lost connection is worth another try; the record is the same
 * each time, so a write that landed is not doubled). A rejection whose
 * record still cannot be written answers `failed`, with an
 * {@linkcode AuditWriteError}: a refusal is final only once recorded, as a
 * retry under its id decides again; send it again. Any other write that
 * fails is reported through the bus's `onError` as an `AuditWriteError`, and
 * the command's result stays as it was (an accepted command's events are in
 * the store, and a retry answers with them).
 *
 * @example Audit a bank deposit and find it by correlation
 * ```ts
 * import { audit, CommandBus, CommandRejectedError } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * const bus = new CommandBus();
 * bus.use(audit(log, { redact: ["data.pin"] }));
 * bus.register("Withdraw", () => {
 *   throw new CommandRejectedError("insufficient funds");
 * });
 *
 * await bus.dispatch(
 *   { type: "Withdraw", data: { amount: 50, pin: "1234" } },
 *   { correlationId: "req-1", principal: "ada" },
 * );
 * const [record] = await log.findByCorrelation("req-1");
 * assert.equal(record.status, "rejected");
 * assert.equal(record.error?.message, "insufficient funds");
 * assert.equal(record.metadata.userId, "ada");
 * assert.doesNotMatch(String(record.payload), /1234/);
 * ```
 */
export function audit<C extends Command>(
  log: CommandLogStore,
  options: AuditOptions<C> = {},
): Middleware<C> {
  const codec = options.codec ?? jsonCodec;
  const paths = options.redact ?? [];
  const correlationOf = options.correlationId ??
    ((context: CommandContext<C>) => context.correlationId ?? context.commandId);
  const metadataOf = options.metadata ??
    (defaultRecordMetadata as (context: CommandContext<C>) => Record<string, unknown>);

  return (context, next) => {
    // The command as the user sent it, before any middleware replaces it
    // (validation swaps in the parsed payload).
    const sent = context.command;
    let payload: string | Uint8Array | undefined;
    const build = (
      status: CommandStatus,
      error: Error | undefined,
      eventIds: readonly string[],
      streamIds: readonly string[],
    ): CommandRecord => {
      payload ??= codec.encode(paths.length ? redact(sent, paths) : sent);
      const record: Mutable<CommandRecord> = {
        id: context.commandId,
        correlationId: correlationOf(context),
        type: sent.type,
        payload,
        payloadCodec: codec.name,
        metadata: metadataOf(context),
        status,
        eventIds,
        streamIds,
        // Until the decision went to the store, on every path: an atomic
        // record is built inside the append, before its commit.
        durationMs:
          (status === "accepted" && request.decidedAt !== undefined
            ? request.decidedAt
            : context.clock.now()) - context.startedAt,
        timestamp: new Date(context.startedAt),
      };
      if (context.causationId !== undefined) record.causationId = context.causationId;
      if (error) record.error = recordErrorOf(error);
      return record;
    };

    const outer = context.atomicAudit;
    const request: AtomicAuditRequest = {
      log,
      committed: false,
      buildAccepted: (written) =>
        build("accepted", undefined, written.eventIds, written.streamIds),
    };
    context.atomicAudit = request;
    // Promise chains rather than an async function, as in the bus: this runs
    // around every audited command.
    let inner: Promise<CommandResult>;
    try {
      inner = next();
    } catch (error) {
      context.atomicAudit = outer;
      throw error;
    }
    return inner.then(
      (result) => {
        context.atomicAudit = outer;
        if (request.committed) {
          return recordedHow(result, true);
        }
        return recordWithRetries(log, recordOf(result, build), context).then(
          () => recordedHow(result, false),
          (error) => {
            // The command already has a final record (this dispatch retried
            // a command that had happened): that record stays, as it should.
            // Only a different final outcome is news; a failed attempt never
            // overwrites.
            const existing = error instanceof CommandAlreadyRecordedError
              ? error.existing
              : undefined;
            if (
              !existing ||
              (result.status !== "failed" && existing.status !== result.status)
            ) {
              const failure = new AuditWriteError(context.commandId, error);
              // A refusal is final only once recorded: a retry under this id
              // decides again (or answers with the final record another
              // attempt left), and could answer otherwise. So it answers
              // failed, which says to send it again. (Accepted events are in
              // the store, and a retry answers with them.)
              if (result.status === "rejected") {
                return { status: "failed", commandId: result.commandId, error: failure };
              }
              context.reportError(failure);
            }
            return recordedHow(result, false);
          },
        );
      },
      (error) => {
        context.atomicAudit = outer;
        throw error;
      },
    );
  };
}

/** Attempts of a record write that fails: a lost connection is worth another. */
const RECORD_ATTEMPTS = 3;

/**
 * Writes `record`, and again after a failure (10 ms, then 40 ms later) up to
 * {@linkcode RECORD_ATTEMPTS} times while the command's signal allows: the
 * record is the same each time, so a write that landed but whose answer was
 * lost is met as `CommandAlreadyRecordedError` with that very record, which
 * is final and not tried again.
 */
function recordWithRetries<C extends Command>(
  log: CommandLogStore,
  record: CommandRecord,
  context: CommandContext<C>,
): Promise<void> {
  let attempt = 1;
  const once = (): Promise<void> => {
    let written: Promise<void>;
    try {
      // A log written without async may answer with nothing: resolved.
      written = Promise.resolve(log.record(record));
    } catch (error) {
      written = Promise.reject(error);
    }
    return written.catch((error) => {
      if (
        error instanceof CommandAlreadyRecordedError || attempt >= RECORD_ATTEMPTS ||
        context.signal?.aborted
      ) throw error;
      return context.clock.sleep(10 * 4 ** (attempt++ - 1), context.signal).then(once);
    });
  };
  return once();
}

/**
 * The result, saying how its record was written when it was accepted (built
 * field by field, not spread: Node 20 copies a spread on a slow path).
 */
function recordedHow(result: CommandResult, atomically: boolean): CommandResult {
  if (result.status !== "accepted") return result;
  return {
    status: "accepted",
    commandId: result.commandId,
    events: result.events,
    streams: result.streams,
    recordedAtomically: atomically,
  };
}

function recordOf(
  result: CommandResult,
  build: (
    status: CommandStatus,
    error: Error | undefined,
    eventIds: readonly string[],
    streamIds: readonly string[],
  ) => CommandRecord,
): CommandRecord {
  switch (result.status) {
    case "accepted":
      return build(
        "accepted",
        undefined,
        result.events.map((event) => event.id),
        result.streams.map((stream) => stream.streamId),
      );
    case "rejected":
      return build("rejected", result.reason, [], []);
    case "failed":
      return build("failed", result.error, [], []);
  }
}
