/**
 * Atomic audit: the one place where the audit middleware and a handler agree
 * that an accepted command's record commits in the same transaction as its
 * events. The audit plants an {@linkcode AtomicAuditRequest} on the
 * context; a handler about to append asks {@linkcode atomicRecordFor}, passes
 * what it gives as the append's `commandRecord`, and after the commit calls
 * {@linkcode markRecordedAtomically}; the audit then writes nothing more.
 *
 * @module
 */

import type { Clock } from "./clock.ts";
import type { CommandLogStore, CommandRecord } from "./command_log.ts";
import { VerdictError } from "./errors.ts";
import type { AppendOptions, EventStore, WrittenEvents } from "./event_store.ts";

/**
 * What the audit middleware asks of the handler for one dispatch: write the
 * accepted record in the append, when the store's command log is `log`.
 *
 * @example What a handler of your own does with it
 * ```ts
 * import { type CommandContext, type EventStore } from "@verdict/verdict";
 * import { atomicRecordFor, markRecordedAtomically } from "@verdict/verdict/store-kit";
 *
 * async function appendAudited(store: EventStore, context: CommandContext): Promise<void> {
 *   const commandRecord = atomicRecordFor(context, store);
 *   await store.appendToStream("s", [{ type: "A", data: {} }], { commandRecord });
 *   if (commandRecord) markRecordedAtomically(context);
 * }
 * ```
 */
export interface AtomicAuditRequest {
  /** The log the audit middleware writes to. */
  readonly log: CommandLogStore;
  /** Builds the record of an accepted command that writes these events. */
  buildAccepted(written: WrittenEvents): CommandRecord;
  /** Set once the record committed with the events: the audit writes none. */
  committed: boolean;
  /**
   * When the decision was handed to the store (the clock's reading): an
   * accepted command's `durationMs` ends there, whether its record is
   * written in the append or after it.
   */
  decidedAt?: number;
}

/**
 * The audit's log is not the event store's own command log (another
 * instance on the same database, say): records are written apart from the
 * events, after the commit, and a crash in between can lose one. Reported
 * once per store and log through the bus's `onError`; commands are not
 * affected.
 *
 * @example
 * ```ts
 * import { AuditNotAtomicError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new AuditNotAtomicError().name, "AuditNotAtomicError");
 * ```
 */
export class AuditNotAtomicError extends VerdictError {
  /** Creates the report. */
  constructor() {
    super(
      "The audit's command log is not this event store's command log (another instance?): " +
        "accepted commands' records are written after their events commit, not with them. " +
        "Give audit() the store's own commandLog to commit them together.",
    );
    this.name = "AuditNotAtomicError";
  }
}

/**
 * The parts of a command's context the handshake uses (a `CommandContext`
 * has them all).
 *
 * @example
 * ```ts
 * import type { AuditedContext, CommandContext } from "@verdict/verdict";
 *
 * const asAudited = (context: CommandContext): AuditedContext => context;
 * ```
 */
export interface AuditedContext {
  /** The audit's request, when an audit middleware runs for this dispatch. */
  atomicAudit?: AtomicAuditRequest;
  /** The bus's clock. */
  readonly clock: Clock;
  /** Reports an error that does not change the command's outcome. */
  reportError(error: unknown): void;
}

const reported = new WeakMap<EventStore, WeakSet<CommandLogStore>>();

/**
 * The log of the audit's record when `store` commits it with its events
 * (the audit asked, and the store's command log is the audit's); else
 * `undefined`. A question only: nothing is stamped or reported.
 *
 * @example
 * ```ts
 * import { type CommandContext, type EventStore } from "@verdict/verdict";
 * import { atomicLogFor } from "@verdict/verdict/store-kit";
 *
 * function recordsWithEvents(context: CommandContext, store: EventStore): boolean {
 *   return atomicLogFor(context, store) !== undefined;
 * }
 * ```
 */
export function atomicLogFor(
  context: Pick<AuditedContext, "atomicAudit">,
  store: EventStore,
): CommandLogStore | undefined {
  const request = context.atomicAudit;
  return request && store.commandLog !== undefined && request.log === store.commandLog
    ? request.log
    : undefined;
}

/**
 * For a handler about to append its decision: the builder to pass as the
 * append's `commandRecord` when `store` commits the audit's record with
 * the events, else `undefined` (no audit, or a store without a log of its
 * own). Stamps the decision's time for the record's `durationMs`, and
 * reports once an audit whose log is not the store's own.
 *
 * @example
 * ```ts
 * import { type CommandContext, type EventStore } from "@verdict/verdict";
 * import { atomicRecordFor } from "@verdict/verdict/store-kit";
 *
 * async function append(context: CommandContext, store: EventStore) {
 *   return await store.appendToStream("s", [{ type: "A", data: {} }], {
 *     commandRecord: atomicRecordFor(context, store),
 *   });
 * }
 * ```
 */
export function atomicRecordFor(
  context: AuditedContext,
  store: EventStore,
): AppendOptions["commandRecord"] {
  const request = context.atomicAudit;
  if (!request) return undefined;
  request.decidedAt = context.clock.now();
  if (atomicLogFor(context, store)) return request.buildAccepted;
  if (store.commandLog !== undefined) {
    let logs = reported.get(store);
    if (!logs) reported.set(store, logs = new WeakSet());
    if (!logs.has(request.log)) {
      logs.add(request.log);
      context.reportError(new AuditNotAtomicError());
    }
  }
  return undefined;
}

/**
 * Tells the audit middleware that this command's record committed with its
 * events (or exists already): it writes none.
 *
 * @example
 * ```ts
 * import { type CommandContext } from "@verdict/verdict";
 * import { markRecordedAtomically } from "@verdict/verdict/store-kit";
 *
 * function afterCommit(context: CommandContext): void {
 *   markRecordedAtomically(context);
 * }
 * ```
 */
export function markRecordedAtomically(
  context: Pick<AuditedContext, "atomicAudit">,
): void {
  if (context.atomicAudit) context.atomicAudit.committed = true;
}
