/**
 * For people who write a store: the rules every store applies, and the
 * pieces the four stores share — so a fifth store behaves as they do.
 * Applications do not need this entry; the root import is theirs.
 *
 * - **Before writing**: {@linkcode checkAppends} (ids, payloads, expected
 *   versions, the command log guard), {@linkcode planAppend} (event ids and
 *   the command record of an append), {@linkcode checkExpectedVersion}, and
 *   the validators of reads, checkpoints, snapshots and documents.
 * - **Retries**: {@linkcode retriedAppend} tells a retried append from a
 *   new one by its event ids; {@linkcode retriedRecord} does the same for a
 *   command record.
 * - **On read**: {@linkcode storedEventProblem} and
 *   {@linkcode assertStreamSequence} report damaged data instead of
 *   returning it.
 * - **Command logs**: {@linkcode storableRecord}, the query order
 *   ({@linkcode compareCommandOrder}) and its cursor codec.
 * - **Documents**: {@linkcode planDocuments} runs document projections the
 *   same way in every store.
 * - **Waking followers**: {@linkcode Waiters} (in this process) and
 *   {@linkcode ThrottledSignal} (to other processes or tabs).
 * - **Opening**: {@linkcode joinStores} makes an `open*Stores` result that
 *   closes its four stores, and their shared handle, once.
 * - **Atomic audit**: {@linkcode atomicRecordFor} and
 *   {@linkcode markRecordedAtomically}, for a handler other than
 *   `deciderHandler` that commits its command record with its events.
 *
 * The contract suites in `@verdict/verdict/testing` prove a store keeps the
 * contract; `docs/writing-a-store.md` walks through one.
 *
 * @example A store refuses what every store refuses
 * ```ts
 * import { checkAppends } from "@verdict/verdict/store-kit";
 * import { InvalidIdError } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => checkAppends([{ streamId: "", events: [] }]), InvalidIdError);
 * ```
 *
 * @module
 */

export * from "./append_rules.ts";
export * from "./checkpoint_rules.ts";
export * from "./command_records.ts";
export * from "./documents.ts";
export * from "./join_stores.ts";
export * from "./retried_append.ts";
export * from "./waiters.ts";
export * from "./throttled_signal.ts";
export { assertStreamSequence, storedEventProblem } from "./stored_data.ts";
export {
  assertValidAppendCondition,
  assertValidEventQuery,
  assertValidReadQueryOptions,
  assertValidTag,
} from "../event_query.ts";
export { assertValidSnapshot } from "../snapshot_store.ts";
export { backoffDelay, type ResolvedRetryPolicy, resolveRetryPolicy } from "../retry.ts";
export {
  type AtomicAuditRequest,
  atomicLogFor,
  atomicRecordFor,
  markRecordedAtomically,
} from "../atomic_audit.ts";
