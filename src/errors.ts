/**
 * Typed errors. Each has a stable `name`, a message a user can act on, and
 * the facts as fields, so code can branch on them without parsing text.
 *
 * @module
 */

/**
 * The expected version of a stream, as given to an append.
 *
 * @example Create a stream only if it is new
 * ```ts
 * import { ConcurrencyError, type ExpectedVersion } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const mustBeNew: ExpectedVersion = "no_stream";
 * await store.appendToStream("cart-1", [{ type: "CartCreated", data: {} }], {
 *   expectedVersion: mustBeNew,
 * });
 * await assert.rejects(
 *   store.appendToStream("cart-1", [{ type: "CartCreated", data: {} }], {
 *     expectedVersion: mustBeNew,
 *   }),
 *   ConcurrencyError,
 * );
 * ```
 */
export type ExpectedVersion = number | "no_stream" | "stream_exists" | "any";

/**
 * Base class of every error verdict raises on purpose.
 *
 * @example Catch any verdict error
 * ```ts
 * import { ConcurrencyError, VerdictError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error: unknown = new ConcurrencyError("account-1", 3, 4);
 * assert.ok(error instanceof VerdictError);
 * ```
 */
export class VerdictError extends Error {
  /** Creates the error; subclasses set `name`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VerdictError";
  }
}

function describeExpected(expected: ExpectedVersion): string {
  return typeof expected === "number" ? `version ${expected}` : `"${expected}"`;
}

/**
 * An append met a stream whose version is not the one the caller expected.
 * `actual` is the stream's real version at the time of the check: 0 for a
 * stream that does not exist, never -1.
 *
 * @example Inspect a conflict
 * ```ts
 * import { ConcurrencyError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new ConcurrencyError("account-1", 3, 5);
 * assert.equal(error.streamId, "account-1");
 * assert.equal(error.expected, 3);
 * assert.equal(error.actual, 5);
 * ```
 */
export class ConcurrencyError extends VerdictError {
  /** The stream the append targeted. */
  readonly streamId: string;
  /** What the caller expected. */
  readonly expected: ExpectedVersion;
  /** The stream's version when the append was checked (0 = no stream). */
  readonly actual: number;

  /** Creates the error from the stream, the expectation and the real version. */
  constructor(
    streamId: string,
    expected: ExpectedVersion,
    actual: number,
    options?: ErrorOptions,
  ) {
    super(
      `Stream "${streamId}" was expected at ${
        describeExpected(expected)
      } but is at version ${actual}`,
      options,
    );
    this.name = "ConcurrencyError";
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * An append with `expectedVersion: "stream_exists"` met a stream that does not
 * exist. It is a {@linkcode ConcurrencyError} (expected `"stream_exists"`,
 * actual 0), so code that handles conflicts handles it too.
 *
 * @example Recognise a missing stream
 * ```ts
 * import { ConcurrencyError, StreamNotFoundError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new StreamNotFoundError("account-9");
 * assert.ok(error instanceof ConcurrencyError);
 * assert.equal(error.actual, 0);
 * ```
 */
export class StreamNotFoundError extends ConcurrencyError {
  /** Creates the error for the missing stream. */
  constructor(streamId: string, options?: ErrorOptions) {
    super(streamId, "stream_exists", 0, options);
    this.name = "StreamNotFoundError";
    this.message = `Stream "${streamId}" does not exist`;
  }
}

/**
 * An append reused an event id that the store already holds for a different
 * event or position. A retry of the very same append is not an error: it
 * returns the first result.
 *
 * @example
 * ```ts
 * import { DuplicateEventIdError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new DuplicateEventIdError("0190f0c8-0000-7000-8000-000000000000");
 * assert.equal(error.name, "DuplicateEventIdError");
 * ```
 */
export class DuplicateEventIdError extends VerdictError {
  /** The event id that is already taken. */
  readonly eventId: string;
  /** Creates the error for the id that is taken. */
  constructor(
    eventId: string,
    options?: ErrorOptions & { readonly withinAppend?: boolean },
  ) {
    super(
      options?.withinAppend
        ? `Event id ${eventId} appears twice in one append; every event needs an id of its own`
        : `Event id ${eventId} is already stored for another event; a retried append must send the same events to the same stream`,
      options,
    );
    this.name = "DuplicateEventIdError";
    this.eventId = eventId;
  }
}

/**
 * A business refusal: the decider looked at the state and said no. Throw it
 * (or a subclass) from `decide`; the bus reports the command as `rejected`
 * rather than `failed`.
 *
 * @example Refuse an overdraft
 * ```ts
 * import { CommandRejectedError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const refusal = new CommandRejectedError("insufficient funds", {
 *   code: "insufficient_funds",
 *   details: { balance: 10, requested: 50 },
 * });
 * assert.equal(refusal.code, "insufficient_funds");
 * ```
 */
export class CommandRejectedError extends VerdictError {
  /** A stable, machine-readable reason, e.g. `"insufficient_funds"`. */
  readonly code: string;
  /** Facts that explain the refusal. */
  readonly details?: Readonly<Record<string, unknown>>;

  /** Creates a refusal with a human message and an optional code and details. */
  constructor(
    reason: string,
    options?: {
      code?: string;
      details?: Readonly<Record<string, unknown>>;
      cause?: unknown;
    },
  ) {
    super(reason, { cause: options?.cause });
    this.name = "CommandRejectedError";
    this.code = options?.code ?? "rejected";
    this.details = options?.details;
  }
}

/**
 * One problem found while validating input, with the path to the value.
 *
 * @example
 * ```ts
 * import { type ValidationIssue, ValidationError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const issue: ValidationIssue = { path: ["items", 2, "qty"], message: "must be > 0" };
 * const error = new ValidationError("PlaceOrder", [issue]);
 * assert.match(error.message, /items\.2\.qty: must be > 0/);
 * ```
 */
export interface ValidationIssue {
  /** Where the problem is, e.g. `["data", "amount"]`. */
  readonly path: readonly (string | number)[];
  /** What is wrong. */
  readonly message: string;
  /** A machine-readable code, where the validator gives one. */
  readonly code?: string;
}

/**
 * A command's payload failed validation. It is a rejection (the command was
 * refused, nothing broke), and it lists every issue with its path.
 *
 * @example
 * ```ts
 * import { CommandRejectedError, ValidationError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new ValidationError("Deposit", [
 *   { path: ["amount"], message: "must be positive" },
 * ]);
 * assert.ok(error instanceof CommandRejectedError);
 * assert.match(error.message, /amount: must be positive/);
 * ```
 */
export class ValidationError extends CommandRejectedError {
  /** Every problem found. */
  readonly issues: readonly ValidationIssue[];
  /** Creates the error for a command type and its issues. */
  constructor(commandType: string, issues: readonly ValidationIssue[]) {
    const summary = issues
      .map((issue) =>
        `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`
      )
      .join("; ");
    super(`Invalid ${commandType} command: ${summary}`, {
      code: "validation_failed",
    });
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/**
 * A stored event could not be decoded, or what is stored is damaged (a
 * missing field, a version out of sequence, metadata that is not an
 * object). Reads raise it instead of skipping the event or returning it
 * silently wrong; it names the position, and the stream and version where
 * the store knows them, and keeps the raw stored data.
 *
 * @example
 * ```ts
 * import { EventDecodeError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new EventDecodeError(42, "{not json", new SyntaxError("bad"), {
 *   streamId: "order-1",
 *   version: 3,
 * });
 * assert.equal(error.position, 42);
 * assert.equal(error.streamId, "order-1");
 * assert.equal(error.raw, "{not json");
 * assert.match(error.message, /order-1.*version 3/);
 * ```
 */
export class EventDecodeError extends VerdictError {
  /** Global position of the unreadable event (0 where the store cannot tell). */
  readonly position: number;
  /** The stream of the unreadable event, where the store knows it. */
  readonly streamId?: string;
  /** The event's version in its stream, where the store knows it. */
  readonly version?: number;
  /** The data as stored, untouched. */
  readonly raw: unknown;
  /** Creates the error for the event at `position`. */
  constructor(
    position: number,
    raw: unknown,
    cause?: unknown,
    where: { readonly streamId?: string; readonly version?: number } = {},
  ) {
    const place = where.streamId === undefined
      ? ""
      : ` (stream ${JSON.stringify(where.streamId)}${
        where.version === undefined ? "" : `, version ${where.version}`
      })`;
    super(
      `The stored event at position ${position}${place} cannot be decoded${
        cause instanceof Error
          ? `: ${cause.message}`
          : typeof cause === "string"
          ? `: ${cause}`
          : ""
      }`,
      { cause },
    );
    this.name = "EventDecodeError";
    this.position = position;
    if (where.streamId !== undefined) this.streamId = where.streamId;
    if (where.version !== undefined) this.version = where.version;
    this.raw = raw;
  }
}

/**
 * A command did not finish by its deadline. Nothing it had not yet sent to
 * the store will be written; an append under way at the deadline may still
 * land, so a dispatch under the same command id answers with what happened.
 *
 * @example
 * ```ts
 * import { CommandTimeoutError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new CommandTimeoutError("Deposit", 1_700_000_000_000);
 * assert.equal(error.deadline, 1_700_000_000_000);
 * ```
 */
export class CommandTimeoutError extends VerdictError {
  /** The type of the command that timed out. */
  readonly commandType: string;
  /** The deadline, in milliseconds since the epoch. */
  readonly deadline: number;
  /** Creates the error for a command type and its deadline. */
  constructor(commandType: string, deadline: number) {
    super(
      `${commandType} passed its deadline (${
        new Date(deadline).toISOString()
      }) before it finished; dispatch it again under the same id to learn whether an append under way landed`,
    );
    this.name = "CommandTimeoutError";
    this.commandType = commandType;
    this.deadline = deadline;
  }
}

/**
 * A command of a type the application does not know: no handler is
 * registered for it, or (with `validate(…, { unknownCommands: "reject" })`)
 * no schema. It is a rejection with the code `unknown_command`, whichever
 * of the two refused it: the sender asked for something that does not
 * exist, nothing broke.
 *
 * @example
 * ```ts
 * import { CommandBus, CommandRejectedError, UnknownCommandError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const result = await new CommandBus().dispatch({ type: "Refund", data: null });
 * assert.equal(result.status, "rejected");
 * if (result.status === "rejected") {
 *   assert.ok(result.reason instanceof UnknownCommandError);
 *   assert.ok(result.reason instanceof CommandRejectedError);
 *   assert.equal(result.reason.code, "unknown_command");
 *   assert.equal(result.reason.commandType, "Refund");
 * }
 * ```
 */
export class UnknownCommandError extends CommandRejectedError {
  /** The command type nothing handles. */
  readonly commandType: string;
  /** Creates the error for the unknown command type. */
  constructor(commandType: string) {
    super(`Unknown command type "${commandType}": nothing is registered for it`, {
      code: "unknown_command",
      details: { type: commandType },
    });
    this.name = "UnknownCommandError";
    this.commandType = commandType;
  }
}

/**
 * A store was used after `close()`.
 *
 * @example
 * ```ts
 * import { StoreClosedError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.match(new StoreClosedError("memory event store").message, /closed/);
 * ```
 */
export class StoreClosedError extends VerdictError {
  /** Creates the error naming the closed store. */
  constructor(store: string) {
    super(`The ${store} is closed`);
    this.name = "StoreClosedError";
  }
}

/**
 * An id or event type breaks the rule every store applies to them: a
 * non-empty, well-formed Unicode string without a NUL character, at most
 * {@linkcode MAX_ID_BYTES} bytes of UTF-8. The same id is refused by every
 * store, so no store can quietly turn two ids into one.
 *
 * @example
 * ```ts
 * import { InvalidIdError } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const error = await store.appendToStream("s-\uD800", [{ type: "A", data: {} }])
 *   .catch((e) => e);
 * assert.ok(error instanceof InvalidIdError);
 * assert.equal(error.kind, "stream id");
 * ```
 */
export class InvalidIdError extends VerdictError {
  /** What was refused: `"stream id"`, `"event id"`, `"event type"`, `"tag"` or `"command id"`. */
  readonly kind: string;
  /** The value as given. */
  readonly value: unknown;
  /** What is wrong with it. */
  readonly problem: string;
  /** Creates the error for one refused id. */
  constructor(kind: string, value: unknown, problem: string) {
    super(
      `${/^[aeiou]/.test(kind) ? "An" : "A"} ${kind} must be ${ID_RULE}; ${
        describeValue(value)
      } ${problem}`,
    );
    this.name = "InvalidIdError";
    this.kind = kind;
    this.value = value;
    this.problem = problem;
  }
}

/**
 * The most bytes of UTF-8 a stream id, event id, event type or command id
 * may take, on every store (Deno KV's keys and PostgreSQL's indexes bound
 * it; the same number holds everywhere so an id never works on one store
 * and fails on another).
 *
 * @example
 * ```ts
 * import { MAX_ID_BYTES } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * await store.appendToStream("x".repeat(MAX_ID_BYTES), [{ type: "A", data: {} }]);
 * await assert.rejects(
 *   store.appendToStream("x".repeat(MAX_ID_BYTES + 1), [{ type: "A", data: {} }]),
 * );
 * ```
 */
export const MAX_ID_BYTES = 1024;

const ID_RULE =
  `a non-empty, well-formed string without NUL, at most ${MAX_ID_BYTES} bytes of UTF-8`;

function describeValue(value: unknown): string {
  if (typeof value !== "string") {
    return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
  }
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/**
 * Event data or metadata that is not a JSON value, so not every store could
 * keep it as given. verdict's data model is JSON: `null`, booleans, finite
 * numbers, well-formed strings without NUL, arrays and plain objects of
 * those (a property whose value is `undefined` is left out, as `JSON.stringify`
 * does). Every store refuses anything else at append, naming the stream, the
 * event and the path, and writes nothing. Richer types (dates, big integers,
 * bytes) go through your own encoding: an ISO string, a decimal string, base64.
 *
 * @example
 * ```ts
 * import { UnstorableDataError } from "@verdict/verdict";
 * import { MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const store = new MemoryEventStore();
 * const error = await store.appendToStream("order-1", [
 *   { type: "Placed", data: { at: new Date(0) } },
 * ]).catch((e) => e);
 * assert.ok(error instanceof UnstorableDataError);
 * assert.deepEqual(error.path, ["data", "at"]);
 * assert.equal(await store.streamVersion("order-1"), 0);
 * ```
 */
export class UnstorableDataError extends VerdictError {
  /** The stream the event was for. */
  readonly streamId: string;
  /** The event's index within that stream's events of the append. */
  readonly eventIndex: number;
  /** Where in the event: `["data", …]` or `["metadata", …]`. */
  readonly path: readonly (string | number)[];
  /** What is wrong there. */
  readonly problem: string;
  /** Creates the error for one value an event cannot carry. */
  constructor(
    streamId: string,
    eventIndex: number,
    path: readonly (string | number)[],
    problem: string,
  ) {
    super(
      `Event ${eventIndex} of stream ${JSON.stringify(streamId)} cannot be stored: at ${
        formatPath(path)
      }, ${problem}`,
    );
    this.name = "UnstorableDataError";
    this.streamId = streamId;
    this.eventIndex = eventIndex;
    this.path = path;
    this.problem = problem;
  }
}

/** `["data", "items", 2, "at"]` → `data.items[2].at`. */
function formatPath(path: readonly (string | number)[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) text += text ? `.${part}` : part;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text || "(root)";
}

/**
 * A store is held by another writer (Deno KV's file lock, say) and stayed
 * busy past the time allowed for the call. Nothing was written; the call can
 * be made again.
 *
 * @example
 * ```ts
 * import { StoreBusyError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new StoreBusyError("Deno KV event store", 2_000);
 * assert.match(error.message, /busy/);
 * ```
 */
export class StoreBusyError extends VerdictError {
  /** How long the call tried, in milliseconds. */
  readonly waitedMs: number;
  /** Creates the error naming the store and how long it tried. */
  constructor(store: string, waitedMs: number, options?: ErrorOptions) {
    super(
      `The ${store} stayed busy (locked by another writer) for ${waitedMs} ms; nothing was written`,
      options,
    );
    this.name = "StoreBusyError";
    this.waitedMs = waitedMs;
  }
}

/**
 * A store cannot tell whether an append committed: the connection was lost
 * while it ran, or it did not answer in time. Nothing can be assumed either
 * way. The `deciderHandler` resolves it before it answers: it sends the very
 * same append again (the same event ids), which the store answers with the
 * first result when the first one landed, or commits now when it did not.
 *
 * @example
 * ```ts
 * import { CommitUnknownError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new CommitUnknownError("PostgreSQL event store", new Error("connection reset"));
 * assert.match(error.message, /cannot tell whether/);
 * ```
 */
export class CommitUnknownError extends VerdictError {
  /** Creates the error naming the store, with what it met as the cause. */
  constructor(store: string, cause?: unknown) {
    super(
      `The ${store} cannot tell whether the append committed${
        cause instanceof Error ? ` (${cause.message})` : ""
      }: send the same append (the same event ids) again to find out`,
      { cause },
    );
    this.name = "CommitUnknownError";
  }
}

/**
 * A conditional append met an event matching its condition's query after
 * the condition's position: someone decided on the same facts first. The
 * append wrote nothing; read the query again and decide again.
 *
 * @example
 * ```ts
 * import { AppendConditionError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const error = new AppendConditionError(42, 40);
 * assert.equal(error.position, 42);
 * assert.match(error.message, /after position 40/);
 * ```
 */
export class AppendConditionError extends VerdictError {
  /** The position of the first event that matched the condition's query. */
  readonly position: number;
  /** The condition's `after`: the head the decision was made at. */
  readonly after: number;

  /** Creates the error from the first conflicting position and the condition's `after`. */
  constructor(position: number, after: number, options?: ErrorOptions) {
    super(
      `An event at position ${position} matches the append's condition, after position ${after}: the decision was made on facts that have changed`,
      options,
    );
    this.name = "AppendConditionError";
    this.position = position;
    this.after = after;
  }
}
