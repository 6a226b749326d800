/**
 * The command log: one {@linkcode CommandRecord} per dispatched command, and
 * the {@linkcode CommandLogStore} port that holds them.
 *
 * @module
 */

import { type ValidationIssue, VerdictError } from "./errors.ts";

/**
 * How a command ended.
 *
 * @example
 * ```ts
 * import type { CommandStatus } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * const log = new MemoryCommandLog();
 * const problems: CommandStatus[] = ["rejected", "failed"];
 * const page = await log.list({ status: problems });
 * ```
 */
export type CommandStatus = "accepted" | "rejected" | "failed";

/**
 * The error of a rejected or failed command, as the log keeps it.
 *
 * @example
 * ```ts
 * import { audit, CommandBus, CommandRejectedError } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * const bus = new CommandBus().use(audit(log));
 * bus.register("Ship", () => {
 *   throw new CommandRejectedError("address missing", { code: "no_address" });
 * });
 * const { commandId } = await bus.dispatch({ type: "Ship", data: {} });
 * const error = (await log.get(commandId))?.error;
 * assert.deepEqual(error, {
 *   name: "CommandRejectedError",
 *   message: "address missing",
 *   code: "no_address",
 * });
 * ```
 */
export interface CommandRecordError {
  /** The error class name, e.g. `"ValidationError"`. */
  readonly name: string;
  /** The error message. */
  readonly message: string;
  /** A rejection's machine-readable code. */
  readonly code?: string;
  /** A validation failure's issues, with paths. */
  readonly issues?: readonly ValidationIssue[];
  /** A rejection's details. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Everything about one dispatched command: its intent (type, payload,
 * metadata), its decision (status, error) and its consequences (event and
 * stream ids), with timing and correlation.
 *
 * @example Which command caused this event?
 * ```ts
 * import { audit, CommandBus, type CommandRecord, deciderHandler } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog: log });
 * const bus = new CommandBus().use(audit(log));
 * bus.register("Touch", deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Touched", data: null }], evolve: (n) => n + 1 },
 *   store,
 *   streamId: () => "thing-1",
 * }));
 * await bus.dispatch({ type: "Touch", data: null }, { principal: "ada" });
 *
 * const [event] = await store.readStream("thing-1");
 * const record: CommandRecord | undefined = await log.get(event.metadata.causationId!);
 * assert.equal(record?.type, "Touch");
 * assert.equal(record?.metadata.userId, "ada");
 * ```
 */
export interface CommandRecord {
  /** The command id (UUIDv7): events it caused carry it as causation id. */
  readonly id: string;
  /** The correlation id shared by everything one request caused. */
  readonly correlationId: string;
  /** The id of the command or event that caused this command, if any. */
  readonly causationId?: string;
  /** The command's type (its `type`). */
  readonly type: string;
  /** The command as the user sent it, after redaction, encoded by `payloadCodec`. */
  readonly payload: string | Uint8Array;
  /** The name of the codec that encoded `payload` (`"json"`, `"cbor"`, …). */
  readonly payloadCodec: string;
  /** Who, which tenant, from where: as the dispatch context gave them. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** How the command ended. */
  readonly status: CommandStatus;
  /** Why it was rejected or failed. */
  readonly error?: CommandRecordError;
  /** Ids of the events it wrote, in order (empty unless accepted). */
  readonly eventIds: readonly string[];
  /** Ids of the streams it wrote to. */
  readonly streamIds: readonly string[];
  /**
   * How long the command took, in milliseconds, from its dispatch: for an
   * accepted command, until its decision was handed to the store (the same
   * whether the record commits with the events or is written after them;
   * the commit itself is not counted); otherwise until its outcome.
   */
  readonly durationMs: number;
  /** When the command was dispatched. */
  readonly timestamp: Date;
}

/**
 * Filters and paging of a command-log query.
 *
 * @example Yesterday's failures, 50 at a time
 * ```ts
 * import type { CommandQuery } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * const log = new MemoryCommandLog();
 * const today = new Date(new Date().toDateString());
 * const query: CommandQuery = {
 *   since: new Date(today.getTime() - 86_400_000),
 *   before: today,
 *   status: "failed",
 *   limit: 50,
 * };
 * const { records, nextCursor } = await log.list(query);
 * ```
 */
export interface CommandQuery {
  /** Only records with `timestamp >= since` (inclusive). */
  readonly since?: Date;
  /** Only records with `timestamp < before`. */
  readonly before?: Date;
  /** Only records with this status (or one of these). */
  readonly status?: CommandStatus | readonly CommandStatus[];
  /** At most this many records per page (default 100). */
  readonly limit?: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/**
 * One page of records, in timestamp order (ties by id).
 *
 * @example Read every page
 * ```ts
 * import type { CommandPage, CommandRecord } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * for (let i = 0; i < 5; i++) await log.record(sampleCommandRecord());
 * const all: CommandRecord[] = [];
 * let page: CommandPage = await log.list({ limit: 2 });
 * all.push(...page.records);
 * while (page.nextCursor) {
 *   page = await log.list({ limit: 2, cursor: page.nextCursor });
 *   all.push(...page.records);
 * }
 * assert.equal(all.length, 5);
 * ```
 */
export interface CommandPage {
  /** The records of this page. */
  readonly records: CommandRecord[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/**
 * Where command records live. Implement it for your own backend and prove it
 * with the command-log contract suite in `./testing`.
 *
 * @example Any log works with the audit middleware
 * ```ts
 * import { audit, CommandBus, type CommandLogStore } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * function auditedBus(log: CommandLogStore): CommandBus {
 *   return new CommandBus().use(audit(log));
 * }
 * const bus = auditedBus(new MemoryCommandLog());
 * ```
 */
export interface CommandLogStore {
  /** Stores a record. Recording an id twice is an error. */
  record(record: CommandRecord): Promise<void>;
  /** The record with this id, or `undefined`. */
  get(id: string): Promise<CommandRecord | undefined>;
  /**
   * The records with these ids, in the order given (`undefined` where there
   * is none), read together: the sync server looks up a whole push at once.
   * Optional for logs of your own: without it each id is read by `get`.
   */
  getMany?(ids: readonly string[]): Promise<(CommandRecord | undefined)[]>;
  /** Every record of one correlation, in timestamp order. */
  findByCorrelation(correlationId: string): Promise<CommandRecord[]>;
  /** Records of one command type, paged. */
  findByType(type: string, query?: CommandQuery): Promise<CommandPage>;
  /** All records, paged. */
  list(query?: CommandQuery): Promise<CommandPage>;
  /** Releases the log's resources. */
  close(): Promise<void>;
}

/**
 * Encodes command payloads for the log and decodes them back.
 *
 * @example A codec that stores payloads as base64 JSON
 * ```ts
 * import { audit, CommandBus, type PayloadCodec } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const base64Json: PayloadCodec = {
 *   name: "json+base64",
 *   encode: (value) => btoa(JSON.stringify(value)),
 *   decode: (payload) => JSON.parse(atob(String(payload))),
 * };
 * const log = new MemoryCommandLog();
 * const bus = new CommandBus().use(audit(log, { codec: base64Json }));
 * bus.register("Ping", () => ({ events: [], streams: [] }));
 * const { commandId } = await bus.dispatch({ type: "Ping", data: 1 });
 * const record = await log.get(commandId);
 * assert.deepEqual(base64Json.decode(record!.payload), { type: "Ping", data: 1 });
 * ```
 */
export interface PayloadCodec {
  /** The name stored beside each payload, e.g. `"json"`. */
  readonly name: string;
  /** Encodes a payload. */
  encode(value: unknown): string | Uint8Array;
  /** Decodes what `encode` produced. */
  decode(payload: string | Uint8Array): unknown;
}

/**
 * The default payload codec: JSON text.
 *
 * @example
 * ```ts
 * import { jsonCodec } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const payload = jsonCodec.encode({ amount: 5 });
 * assert.deepEqual(jsonCodec.decode(payload), { amount: 5 });
 * ```
 */
export const jsonCodec: PayloadCodec = {
  name: "json",
  encode: (value) => JSON.stringify(value) ?? "null",
  decode: (payload) =>
    JSON.parse(
      typeof payload === "string" ? payload : new TextDecoder().decode(payload),
    ),
};

/**
 * A record was written for a command id that already has a final record
 * (accepted or rejected). `existing` is that record when the log read it.
 * A command whose record says `failed` wrote nothing, so a retry under the
 * same id is not refused: its record replaces the failed one.
 *
 * @example
 * ```ts
 * import { CommandAlreadyRecordedError } from "@verdict/verdict";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import { sampleCommandRecord } from "@verdict/verdict/testing";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * const record = sampleCommandRecord({ status: "accepted" });
 * await log.record(record);
 * const error = await log.record({ ...record, status: "failed" }).catch((e) => e);
 * assert.ok(error instanceof CommandAlreadyRecordedError);
 * assert.equal(error.existing?.status, "accepted");
 * ```
 */
export class CommandAlreadyRecordedError extends VerdictError {
  /** The command's id. */
  readonly commandId: string;
  /** The record already stored, when known. */
  readonly existing?: CommandRecord;
  /** Creates the error for the command id and, when read, its record. */
  constructor(commandId: string, existing?: CommandRecord, options?: ErrorOptions) {
    super(
      `Command ${commandId} is already recorded${
        existing ? ` as ${existing.status}` : ""
      }: a command id stands for one command, which happens once`,
      options,
    );
    this.name = "CommandAlreadyRecordedError";
    this.commandId = commandId;
    if (existing) this.existing = existing;
  }
}
