/**
 * The sync protocol between a browser's outbox and the server: what a push
 * and a pull carry, and the checks a push body must pass. Shared by
 * {@linkcode syncHandler} (the server) and the browser's `SyncClient`.
 *
 * @module
 */

import { idProblem, jsonProblem } from "../store_kit/stored_data.ts";

/** The protocol version both sides speak.
 *
 * @example
 * ```ts
 * import { SYNC_PROTOCOL } from "@verdict/verdict/sync";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SYNC_PROTOCOL, 1);
 * ```
 */
export const SYNC_PROTOCOL = 1;

/**
 * One command from a client's outbox.
 *
 * @example
 * ```ts
 * import type { PushCommand } from "@verdict/verdict/sync";
 *
 * const command: PushCommand = {
 *   mid: 1,
 *   commandId: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a57",
 *   type: "Deposit",
 *   data: { accountId: "A-1", amount: 10 },
 * };
 * ```
 */
export interface PushCommand {
  /** The command's place in the client's outbox: pushed in this order. */
  readonly mid: number;
  /** The command id the client chose (a UUIDv7); the server records it. */
  readonly commandId: string;
  /** The command type. */
  readonly type: string;
  /** The command's data. */
  readonly data: unknown;
  /** What the client adds; recorded under `metadata["verdict.client"]`. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * The body of `POST {base}/push`.
 *
 * @example
 * ```ts
 * import { type PushRequest, SYNC_PROTOCOL } from "@verdict/verdict/sync";
 *
 * const body: PushRequest = {
 *   protocol: SYNC_PROTOCOL,
 *   clientId: "tab-group-1",
 *   schemaVersion: 1,
 *   commands: [],
 * };
 * ```
 */
export interface PushRequest {
  /** {@linkcode SYNC_PROTOCOL}. */
  readonly protocol: number;
  /** The client (one browser profile's outbox), owned by one principal. */
  readonly clientId: string;
  /** The version of the application's commands and events the client speaks. */
  readonly schemaVersion: number;
  /** Commands in outbox order. */
  readonly commands: readonly PushCommand[];
}

/** Why the server refused a command, as the client shows it.
 *
 * @example
 * ```ts
 * import type { SyncRefusal } from "@verdict/verdict/sync";
 *
 * const reason: SyncRefusal = {
 *   code: "insufficient_funds",
 *   message: "insufficient funds: balance 20, requested 80",
 *   details: { balance: 20, requested: 80 },
 * };
 * ```
 */
export interface SyncRefusal {
  /** A stable, machine-readable reason, e.g. `"insufficient_funds"`. */
  readonly code: string;
  /** The human reason. */
  readonly message: string;
  /** Facts that explain the refusal. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Where one of an accepted command's events landed on the server.
 *
 * @example
 * ```ts
 * import type { SyncEventRef } from "@verdict/verdict/sync";
 *
 * const landed: SyncEventRef = { id: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a57", streamId: "account-A-1", version: 3, position: 42 };
 * ```
 */
export interface SyncEventRef {
  /** The event id. */
  readonly id: string;
  /** Its stream. */
  readonly streamId: string;
  /** Its version in the stream. */
  readonly version: number;
  /** Its global position. */
  readonly position: number;
}

/**
 * What the server decided for one pushed command.
 *
 * @example
 * ```ts
 * import type { SyncOutcome } from "@verdict/verdict/sync";
 *
 * function describe(outcome: SyncOutcome): string {
 *   switch (outcome.status) {
 *     case "accepted":
 *       return `accepted: ${outcome.events.length} events`;
 *     case "rejected":
 *       return `rejected: ${outcome.reason.message}`;
 *     case "failed":
 *       return `will retry: ${outcome.error.message}`;
 *   }
 * }
 * ```
 */
export type SyncOutcome =
  | {
    /** The command's events are committed. */
    readonly status: "accepted";
    /** Its events as the server recorded them, as a pull delivers them. */
    readonly events: readonly SyncEvent[];
    /** The streams written, with their versions after the write. */
    readonly streams: readonly { readonly streamId: string; readonly version: number }[];
  }
  | {
    /** The server refused the command: final. */
    readonly status: "rejected";
    /** Why. */
    readonly reason: SyncRefusal;
  }
  | {
    /** The server could not decide now (infrastructure): push it again later. */
    readonly status: "failed";
    /** What went wrong, as much as the server tells. */
    readonly error: { readonly name: string; readonly message: string };
  };

/** The server's answer for one pushed command.
 *
 * @example
 * ```ts
 * import type { PushResult } from "@verdict/verdict/sync";
 *
 * const result: PushResult = {
 *   mid: 7,
 *   commandId: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a57",
 *   duplicate: false,
 *   outcome: { status: "rejected", reason: { code: "account_not_found", message: "account A-9 does not exist" } },
 * };
 * ```
 */
export interface PushResult {
  /** The command's outbox place. */
  readonly mid: number;
  /** The command id. */
  readonly commandId: string;
  /** True when the command was already decided by an earlier push: this is that outcome. */
  readonly duplicate: boolean;
  /** The outcome. */
  readonly outcome: SyncOutcome;
}

/**
 * The answer to a push: one result per command, in order. After a `failed`
 * result the server stops: the commands after it come back with no result
 * and are pushed again, so a later command is never decided before an
 * earlier one.
 *
 * @example
 * ```ts
 * import { type PushResponse, SYNC_PROTOCOL } from "@verdict/verdict/sync";
 *
 * const answer: PushResponse = { protocol: SYNC_PROTOCOL, serverId: "empty", results: [] };
 * ```
 */
export interface PushResponse {
  /** {@linkcode SYNC_PROTOCOL}. */
  readonly protocol: number;
  /** The server's identity; it changes when the server's store is replaced. */
  readonly serverId: string;
  /** Results, in the order pushed. */
  readonly results: readonly PushResult[];
}

/** An event as a pull delivers it.
 *
 * @example
 * ```ts
 * import type { SyncEvent } from "@verdict/verdict/sync";
 *
 * const event: SyncEvent = {
 *   position: 1,
 *   id: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a57",
 *   streamId: "account-A-1",
 *   version: 1,
 *   type: "AccountOpened",
 *   data: { accountId: "A-1", owner: "Ada" },
 *   metadata: { causationId: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a50" },
 *   timestamp: "2026-12-04T10:00:00.000Z",
 * };
 * ```
 */
export interface SyncEvent {
  /** Global position on the server. */
  readonly position: number;
  /** The event id. */
  readonly id: string;
  /** Its stream. */
  readonly streamId: string;
  /** Its version in the stream. */
  readonly version: number;
  /** Its type. */
  readonly type: string;
  /** Its data. */
  readonly data: unknown;
  /** Its metadata (`causationId` is the id of the command that wrote it). */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** When the server recorded it (ISO 8601). */
  readonly timestamp: string;
}

/**
 * The answer to `GET {base}/pull?cursor=N`: the events after the cursor
 * the principal may see, in global order.
 *
 * @example
 * ```ts
 * import { type PullResponse, SYNC_PROTOCOL } from "@verdict/verdict/sync";
 *
 * const page: PullResponse = { protocol: SYNC_PROTOCOL, serverId: "empty", events: [], cursor: 0, more: false };
 * ```
 */
export interface PullResponse {
  /** {@linkcode SYNC_PROTOCOL}. */
  readonly protocol: number;
  /** The server's identity; a new one means the client's copy is void. */
  readonly serverId: string;
  /** The events, oldest first. */
  readonly events: readonly SyncEvent[];
  /** Pass it as the next pull's cursor (it passes events the principal may not see). */
  readonly cursor: number;
  /** True when more events wait after `cursor`. */
  readonly more: boolean;
}

/** The codes of a sync request the server refused as a whole.
 *
 * @example
 * ```ts
 * import type { SyncErrorCode } from "@verdict/verdict/sync";
 *
 * const retryable = (code: SyncErrorCode) => code === "unavailable";
 * ```
 */
export type SyncErrorCode =
  | "bad_request"
  | "too_large"
  | "unauthorized"
  | "forbidden"
  | "update_required"
  | "not_found"
  | "method_not_allowed"
  | "unavailable";

/**
 * The body of every refused sync request (status 4xx): nothing of it was
 * written.
 *
 * @example
 * ```ts
 * import type { SyncErrorBody } from "@verdict/verdict/sync";
 *
 * const refused: SyncErrorBody = {
 *   error: { code: "bad_request", message: "The body is not a well-formed push", issues: [{ path: "commands.0.mid", message: "must be a positive integer" }] },
 * };
 * ```
 */
export interface SyncErrorBody {
  /** What went wrong. */
  readonly error: {
    readonly code: SyncErrorCode;
    readonly message: string;
    /** For `bad_request`: where the body is wrong. */
    readonly issues?: readonly { readonly path: string; readonly message: string }[];
  };
}

/** The longest client id a server takes, in UTF-16 units.
 *
 * @example
 * ```ts
 * import { MAX_CLIENT_ID_LENGTH } from "@verdict/verdict/sync";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_CLIENT_ID_LENGTH, 200);
 * ```
 */
export const MAX_CLIENT_ID_LENGTH = 200;

/**
 * The problems of a push body, or none: every command must be well formed
 * before any is run, so a tampered body writes nothing.
 *
 * @example
 * ```ts
 * import { pushRequestProblems } from "@verdict/verdict/sync";
 * import assert from "node:assert/strict";
 *
 * const problems = pushRequestProblems({ protocol: 1, clientId: "", schemaVersion: 1, commands: [] }, 100);
 * assert.deepEqual(problems.map((p) => p.path), ["clientId"]);
 * ```
 */
export function pushRequestProblems(
  body: unknown,
  maxCommands: number,
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    problem("", "the body must be a JSON object");
    return problems;
  }
  const request = body as Record<string, unknown>;
  if (request.protocol !== SYNC_PROTOCOL) {
    problem("protocol", `must be ${SYNC_PROTOCOL}`);
  }
  if (
    typeof request.clientId !== "string" || request.clientId.length === 0 ||
    request.clientId.length > MAX_CLIENT_ID_LENGTH || idProblem(request.clientId)
  ) {
    problem(
      "clientId",
      `must be a non-empty id of at most ${MAX_CLIENT_ID_LENGTH} characters`,
    );
  }
  if (!Number.isSafeInteger(request.schemaVersion)) {
    problem("schemaVersion", "must be an integer");
  }
  if (!Array.isArray(request.commands)) {
    problem("commands", "must be an array");
    return problems;
  }
  if (request.commands.length > maxCommands) {
    problem("commands", `at most ${maxCommands} commands in one push`);
    return problems;
  }
  const ids = new Set<string>();
  let lastMid = 0;
  request.commands.forEach((entry: unknown, i) => {
    const at = `commands.${i}`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      problem(at, "must be an object");
      return;
    }
    const command = entry as Record<string, unknown>;
    if (!Number.isSafeInteger(command.mid) || (command.mid as number) <= lastMid) {
      problem(`${at}.mid`, "must be a positive integer, greater than the one before");
    } else {
      lastMid = command.mid as number;
    }
    const idIssue = idProblem(command.commandId);
    if (idIssue) problem(`${at}.commandId`, idIssue);
    else if (ids.has(command.commandId as string)) {
      problem(`${at}.commandId`, "is given twice");
    } else ids.add(command.commandId as string);
    const typeIssue = idProblem(command.type);
    if (typeIssue) problem(`${at}.type`, typeIssue);
    if (command.data === undefined) problem(`${at}.data`, "is missing");
    else {
      const dataIssue = jsonProblem(command.data);
      if (dataIssue) {
        problem(
          `${at}.data${dataIssue.path.map((p) => `.${p}`).join("")}`,
          dataIssue.problem,
        );
      }
    }
    if (command.metadata !== undefined) {
      if (
        typeof command.metadata !== "object" || command.metadata === null ||
        Array.isArray(command.metadata)
      ) {
        problem(`${at}.metadata`, "must be an object");
      } else {
        const metadataIssue = jsonProblem(command.metadata);
        if (metadataIssue) problem(`${at}.metadata`, metadataIssue.problem);
      }
    }
    for (const key of Object.keys(command)) {
      if (!["mid", "commandId", "type", "data", "metadata"].includes(key)) {
        problem(`${at}.${key}`, "is not a field of a pushed command");
      }
    }
  });
  return problems;
}
