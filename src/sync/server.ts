/**
 * The sync server: a `(Request) => Promise<Response>` handler that takes
 * commands pushed from browsers' outboxes through the application's own
 * `CommandBus`, and serves the events they may see.
 *
 * @module
 */

import type { Command, CommandBus } from "../command_bus.ts";
import type { CommandResult } from "../command_result.ts";
import type { CommandLogStore, CommandRecord } from "../command_log.ts";
import { UnknownCommandError, ValidationError } from "../errors.ts";
import { commandIdOf } from "../uuid.ts";
import type { RecordedEvent } from "../event.ts";
import type { EventStore } from "../event_store.ts";
import type { AppendNotifier } from "../event_store.ts";
import {
  type PullResponse,
  type PushCommand,
  type PushRequest,
  pushRequestProblems,
  type PushResponse,
  type PushResult,
  SYNC_PROTOCOL,
  type SyncErrorBody,
  type SyncErrorCode,
  type SyncEvent,
  type SyncOutcome,
} from "./protocol.ts";

/** Who is asking, as `authenticate` found from the request.
 *
 * @example
 * ```ts
 * import type { SyncPrincipal } from "@verdict/verdict/sync";
 *
 * // From a session cookie, a verified token, …: never from the body.
 * function authenticate(request: Request): SyncPrincipal | undefined {
 *   const user = request.headers.get("x-user");
 *   return user ? { principal: user, tenantId: "acme" } : undefined;
 * }
 * ```
 */
export interface SyncPrincipal {
  /** The user or service id: recorded as the commands' principal. */
  readonly principal: string;
  /** The tenant, when the application has tenants. */
  readonly tenantId?: string;
}

/**
 * Options of {@linkcode syncHandler}.
 *
 * @example
 * ```ts
 * import { audit, CommandBus } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import type { SyncHandlerOptions } from "@verdict/verdict/sync";
 *
 * const commandLog = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog });
 * const options: SyncHandlerOptions = {
 *   bus: new CommandBus().use(audit(commandLog)),
 *   store,
 *   commandLog,
 *   authenticate: (request) => {
 *     const user = request.headers.get("x-user");
 *     return user ? { principal: user } : undefined;
 *   },
 * };
 * ```
 */
export interface SyncHandlerOptions<C extends Command = Command> {
  /**
   * The application's bus: every pushed command runs through its
   * middleware and handlers, as one dispatched on the server does. It must
   * use `audit()` on `commandLog`: the log is where a pushed command's
   * outcome is kept for the push that repeats it.
   */
  readonly bus: CommandBus<C>;
  /** The event store the bus writes to: pulls read it. */
  readonly store: EventStore;
  /** The audit's command log (the store's own, for atomic audit). */
  readonly commandLog: CommandLogStore;
  /**
   * Who sends the request, from its headers or cookies; `undefined` answers
   * 401. The principal never comes from the body.
   */
  readonly authenticate: (
    request: Request,
  ) => SyncPrincipal | undefined | Promise<SyncPrincipal | undefined>;
  /** Whether the principal may see an event (default: every event). */
  readonly visible?: (event: RecordedEvent, who: SyncPrincipal) => boolean;
  /**
   * Whether the server speaks a client's schema version (default: all). A
   * client it does not speak is told to update and keeps its outbox.
   */
  readonly supportsSchema?: (schemaVersion: number) => boolean;
  /** The path before `/push`, `/pull` and `/events` (default `""`). */
  readonly basePath?: string;
  /** The largest push body, in bytes (default 1 MiB); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** The most commands in one push (default 500). */
  readonly maxCommands?: number;
  /** The most events in one pull (default 1,000). */
  readonly maxPullEvents?: number;
  /**
   * The server's identity. By default, the id of the store's first event:
   * a new store (wiped, or another database) has another, and clients drop
   * their copy of the old one and push their outbox again.
   */
  readonly serverId?: string;
  /**
   * While `/events` listeners are connected, the store is watched for
   * events written by other processes: through its `waitForEvents` (NOTIFY
   * on PostgreSQL, a watch on Deno KV) and, as a fallback, checked every
   * `pollIntervalMs` (default 1,000 ms). Pushes through this handler wake
   * listeners at once.
   */
  readonly pollIntervalMs?: number;
  /** Errors that do not change a response (a listener's stream breaking). */
  readonly onError?: (error: unknown) => void;
}

/** The sync server's request handler, with its background work.
 *
 * @example
 * ```ts
 * import { audit, CommandBus } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import { type SyncHandler, syncHandler } from "@verdict/verdict/sync";
 *
 * const commandLog = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog });
 * const handler: SyncHandler = syncHandler({
 *   bus: new CommandBus().use(audit(commandLog)),
 *   store,
 *   commandLog,
 *   authenticate: () => ({ principal: "ada" }),
 * });
 * handler.poke(); // after events were written another way
 * handler.close();
 * ```
 */
export interface SyncHandler {
  /** Answers one request (`POST …/push`, `GET …/pull`, `GET …/events`). */
  (request: Request): Promise<Response>;
  /** Wakes the `/events` listeners: new events are there. */
  poke(): void;
  /** Ends every `/events` stream and stops watching the store. */
  close(): void;
}

/**
 * Builds the sync server's request handler around the application's bus.
 *
 * A push runs its commands in order, each through the bus under the
 * client's command id, principal and `metadata["verdict.sync"] = {clientId,
 * mid}`. A command id that the log already holds as decided answers with
 * that outcome (`duplicate: true`), so a push repeated after a lost
 * response decides nothing twice; an id recorded for another client or
 * principal is refused (`command_id_taken`). A command that fails
 * (infrastructure) stops the push: later commands may depend on it. A body
 * that is not a well-formed push gets 400 and runs nothing.
 *
 * @example Serve it with `Deno.serve` (or Hono, or Node's adapters)
 * ```ts
 * import { audit, CommandBus, deciderHandler } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import { SYNC_PROTOCOL, syncHandler } from "@verdict/verdict/sync";
 * import assert from "node:assert/strict";
 *
 * const commandLog = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog });
 * const bus = new CommandBus().use(audit(commandLog));
 * bus.register("Ping", deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Pinged", data: null }], evolve: (n) => n + 1 },
 *   store,
 *   streamId: () => "pings",
 * }));
 * const handler = syncHandler({
 *   bus,
 *   store,
 *   commandLog,
 *   authenticate: (request) => ({ principal: request.headers.get("x-user") ?? "anonymous" }),
 * });
 * const push = {
 *   protocol: SYNC_PROTOCOL,
 *   clientId: "client-1",
 *   schemaVersion: 1,
 *   commands: [{ mid: 1, commandId: "0193a4f0-8d2e-7c41-9f3a-2b6d1e0c4a57", type: "Ping", data: null }],
 * };
 * const response = await handler(
 *   new Request("http://localhost/push", { method: "POST", body: JSON.stringify(push) }),
 * );
 * const { results } = await response.json();
 * assert.equal(results[0].outcome.status, "accepted");
 * handler.close();
 * ```
 */
export function syncHandler<C extends Command = Command>(
  options: SyncHandlerOptions<C>,
): SyncHandler {
  const { bus, store, commandLog, authenticate } = options;
  const base = (options.basePath ?? "").replace(/\/+$/, "");
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxCommands = options.maxCommands ?? 500;
  const maxPullEvents = options.maxPullEvents ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const visible = options.visible;
  const onError = options.onError ??
    ((error: unknown) => console.error("verdict sync:", error));
  const listeners = new Set<Listener>();
  /** Stops the watch for new events, while it runs (someone listens). */
  let watching: AbortController | undefined;
  let closed = false;

  async function serverId(): Promise<string> {
    if (options.serverId !== undefined) return options.serverId;
    const [first] = await store.readAll({ limit: 1 });
    return first ? first.id : "empty";
  }

  function poke(): void {
    for (const listener of listeners) listener.send("poke", {});
  }

  /**
   * While someone listens on `/events`: waits for events after the last
   * position seen — woken by the store itself where it can tell (NOTIFY on
   * PostgreSQL, a watch on Deno KV, in-process on memory), else every
   * `pollIntervalMs` — and pokes the listeners when there are.
   */
  async function watch(signal: AbortSignal): Promise<void> {
    const notifier = store as Partial<AppendNotifier>;
    let seen = -1;
    while (!signal.aborted) {
      try {
        if (seen < 0) seen = await headPosition(0);
        const wait = AbortSignal.any([signal, AbortSignal.timeout(pollIntervalMs)]);
        if (typeof notifier.waitForEvents === "function") {
          await notifier.waitForEvents(seen, wait).catch(() => {});
        } else {
          await new Promise((resolve) => wait.addEventListener("abort", resolve));
        }
        if (signal.aborted) return;
        const head = await headPosition(seen);
        if (head > seen) {
          seen = head;
          poke();
        }
      } catch (error) {
        if (signal.aborted) return;
        onError(error);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollIntervalMs);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          }, { once: true });
        });
      }
    }
  }

  async function headPosition(after: number): Promise<number> {
    for (;;) {
      const events = await store.readAll({ after, limit: 500 });
      if (events.length === 0) return after;
      after = events[events.length - 1].position;
      if (events.length < 500) return after;
    }
  }

  // A client that goes away cancels the stream (`cancel` below).
  function listen(who: SyncPrincipal): Response {
    let listener: Listener;
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        listener = {
          send(event, data) {
            try {
              controller.enqueue(
                encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
              );
            } catch (error) {
              stop();
              onError(error);
            }
          },
          end() {
            try {
              controller.close();
            } catch {
              // Already closed by the client.
            }
          },
        };
        listeners.add(listener);
        if (watching === undefined) {
          watching = new AbortController();
          void watch(watching.signal);
        }
        serverId().then(
          (id) => listener.send("ready", { serverId: id, principal: who.principal }),
          (error) => {
            onError(error);
            stop();
            listener.end();
          },
        );
      },
      cancel() {
        stop();
      },
    });
    function stop() {
      listeners.delete(listener);
      if (listeners.size === 0 && watching !== undefined) {
        watching.abort();
        watching = undefined;
      }
    }
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "connection": "keep-alive",
      },
    });
  }

  async function push(request: Request, who: SyncPrincipal): Promise<Response> {
    const text = await bodyText(request, maxBodyBytes);
    if (text === undefined) {
      return refuse(413, "too_large", `A push body is at most ${maxBodyBytes} bytes`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return refuse(
        400,
        "bad_request",
        `The body is not JSON: ${(error as Error).message}`,
      );
    }
    const problems = pushRequestProblems(body, maxCommands);
    if (problems.length > 0) {
      return refuse(400, "bad_request", "The body is not a well-formed push", problems);
    }
    const pushed = body as PushRequest;
    if (options.supportsSchema && !options.supportsSchema(pushed.schemaVersion)) {
      return refuse(
        409,
        "update_required",
        `This server does not speak schema version ${pushed.schemaVersion}: update the app`,
      );
    }
    // Who owns the client id, and whether each command was decided before:
    // looked up together, not one round trip per command. (A push racing
    // this one is still answered once: the bus finds the record when it writes.)
    const claimId = clientClaimId(pushed.clientId);
    const ids = [claimId, ...pushed.commands.map((command) => command.commandId)];
    const found =
      await (commandLog.getMany
        ? commandLog.getMany(ids)
        : Promise.all(ids.map((id) => commandLog.get(id))));
    const owner = found[0] ?? await claim(claimId, pushed.clientId, who);
    if (owner.metadata.userId !== who.principal) {
      return refuse(
        403,
        "forbidden",
        `Client id ${pushed.clientId} belongs to another principal: use one outbox per user`,
      );
    }
    const known = found.slice(1);
    const results: PushResult[] = [];
    let accepted = false;
    for (const [i, command] of pushed.commands.entries()) {
      const result = await run(command, pushed.clientId, who, known[i]);
      results.push(result);
      if (result.outcome.status === "accepted" && !result.duplicate) accepted = true;
      if (result.outcome.status === "failed") break;
    }
    if (accepted) poke();
    const response: PushResponse = {
      protocol: SYNC_PROTOCOL,
      serverId: await serverId(),
      results,
    };
    return json(200, response);
  }

  /**
   * Binds a client id to the principal of its first push, with a record in
   * the command log (`verdict.sync.ClientClaimed`): the claim that wins a
   * race is the one read back.
   */
  async function claim(
    claimId: string,
    clientId: string,
    who: SyncPrincipal,
  ): Promise<CommandRecord> {
    const record: CommandRecord = {
      id: claimId,
      correlationId: claimId,
      type: CLIENT_CLAIMED,
      payload: JSON.stringify({ clientId }),
      payloadCodec: "json",
      metadata: {
        userId: who.principal,
        ...(who.tenantId !== undefined ? { tenantId: who.tenantId } : {}),
        "verdict.sync": { clientId },
      },
      status: "accepted",
      eventIds: [],
      streamIds: [],
      durationMs: 0,
      timestamp: new Date(),
    };
    try {
      await commandLog.record(record);
      return record;
    } catch (error) {
      const winner = await commandLog.get(claimId);
      if (winner) return winner;
      throw error;
    }
  }

  async function run(
    command: PushCommand,
    clientId: string,
    who: SyncPrincipal,
    existing: CommandRecord | undefined,
  ): Promise<PushResult> {
    const { mid, commandId } = command;
    const answer = (outcome: SyncOutcome, duplicate = false): PushResult => ({
      mid,
      commandId,
      duplicate,
      outcome,
    });
    if (!bus.handles(command.type)) {
      const unknown = new UnknownCommandError(command.type);
      return answer({
        status: "rejected",
        reason: {
          code: unknown.code,
          message: unknown.message,
          details: unknown.details,
        },
      });
    }
    if (existing && existing.status !== "failed") {
      if (!ownedBy(existing, clientId, who)) {
        return answer({
          status: "rejected",
          reason: {
            code: "command_id_taken",
            message: `Command id ${commandId} belongs to another command`,
          },
        });
      }
      return answer(await recordedOutcome(existing), true);
    }
    const result = await bus.dispatch(
      { type: command.type, data: command.data } as C,
      {
        commandId,
        principal: who.principal,
        tenantId: who.tenantId,
        metadata: {
          "verdict.sync": { clientId, mid },
          ...(command.metadata ? { "verdict.client": command.metadata } : {}),
        },
      },
    );
    return answer(outcomeOf(result));
  }

  async function recordedOutcome(record: CommandRecord): Promise<SyncOutcome> {
    if (record.status === "rejected") {
      return {
        status: "rejected",
        reason: {
          code: record.error?.code ?? "rejected",
          message: record.error?.message ?? "rejected",
          ...(record.error?.details ? { details: record.error.details } : {}),
        },
      };
    }
    try {
      const events = await store.readEvents?.(record.eventIds) ?? [];
      const last = new Map<string, number>();
      for (const event of events) last.set(event.streamId, event.version);
      return {
        status: "accepted",
        events: events.map(syncEvent),
        streams: record.streamIds.map((streamId) => ({
          streamId,
          version: last.get(streamId) ?? 0,
        })),
      };
    } catch (error) {
      return failedOutcome(error);
    }
  }

  async function pull(request: Request, who: SyncPrincipal): Promise<Response> {
    const url = new URL(request.url);
    const cursor = Number(url.searchParams.get("cursor") ?? 0);
    const limit = Number(url.searchParams.get("limit") ?? maxPullEvents);
    if (!Number.isSafeInteger(cursor) || cursor < 0) {
      return refuse(400, "bad_request", "cursor must be an integer >= 0");
    }
    if (!Number.isSafeInteger(limit) || limit < 1) {
      return refuse(400, "bad_request", "limit must be an integer >= 1");
    }
    const id = await serverId();
    const read = await store.readAll({
      after: cursor,
      limit: Math.min(limit, maxPullEvents),
    });
    const events: SyncEvent[] = [];
    for (const event of read) {
      if (!visible || visible(event, who)) events.push(syncEvent(event));
    }
    const response: PullResponse = {
      protocol: SYNC_PROTOCOL,
      serverId: id,
      events,
      cursor: read.length > 0 ? read[read.length - 1].position : cursor,
      more: read.length === Math.min(limit, maxPullEvents),
    };
    return json(200, response);
  }

  const handler = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const route = path.startsWith(base) ? path.slice(base.length) : undefined;
    const method = route === "/push"
      ? "POST"
      : route === "/pull" || route === "/events"
      ? "GET"
      : undefined;
    if (method === undefined) return refuse(404, "not_found", `No sync route at ${path}`);
    if (request.method !== method) {
      return refuse(405, "method_not_allowed", `${route} takes ${method}`);
    }
    if (closed) return refuse(404, "not_found", "The sync handler is closed");
    const who = await authenticate(request);
    if (!who || typeof who.principal !== "string" || who.principal.length === 0) {
      return refuse(401, "unauthorized", "Sign in to sync");
    }
    try {
      if (route === "/push") return await push(request, who);
      if (route === "/pull") return await pull(request, who);
      return listen(who);
    } catch (error) {
      onError(error);
      return json(503, {
        error: { code: "unavailable", message: "The server could not answer; retry" },
      });
    }
  };
  return Object.assign(handler, {
    poke,
    close() {
      closed = true;
      watching?.abort();
      watching = undefined;
      for (const listener of listeners) listener.end();
      listeners.clear();
    },
  });
}

/**
 * The command-log type of the record that binds a client id to the
 * principal of its first push: a push under that client id by anyone else
 * gets 403.
 *
 * @example Who uses which client ids
 * ```ts
 * import { CLIENT_CLAIMED } from "@verdict/verdict/sync";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 *
 * const log = new MemoryCommandLog();
 * const { records } = await log.findByType(CLIENT_CLAIMED);
 * for (const record of records) console.log(record.payload, record.metadata.userId);
 * ```
 */
export const CLIENT_CLAIMED = "verdict.sync.ClientClaimed";

/**
 * The id of the command-log record that binds a client id to the principal
 * of its first push.
 *
 * @example
 * ```ts
 * import { clientClaimId } from "@verdict/verdict/sync";
 * import assert from "node:assert/strict";
 *
 * assert.equal(clientClaimId("tab-1"), clientClaimId("tab-1"));
 * assert.notEqual(clientClaimId("tab-1"), clientClaimId("tab-2"));
 * ```
 */
export function clientClaimId(clientId: string): string {
  return commandIdOf(`verdict.sync/client/${clientId}`);
}

interface Listener {
  send(event: string, data: unknown): void;
  end(): void;
}

/** Whether an existing record is this client's command (sync metadata, principal). */
function ownedBy(record: CommandRecord, clientId: string, who: SyncPrincipal): boolean {
  const sync = record.metadata["verdict.sync"] as { clientId?: unknown } | undefined;
  if (sync === undefined || sync.clientId !== clientId) return false;
  const userId = record.metadata.userId;
  return userId === undefined || userId === who.principal;
}

function syncEvent(event: RecordedEvent): SyncEvent {
  return {
    position: event.position,
    id: event.id,
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    timestamp: event.timestamp.toISOString(),
  };
}

function outcomeOf(result: CommandResult): SyncOutcome {
  switch (result.status) {
    case "accepted":
      return {
        status: "accepted",
        events: result.events.map(syncEvent),
        streams: result.streams.map(({ streamId, version }) => ({ streamId, version })),
      };
    case "rejected": {
      const reason = result.reason;
      const details = reason instanceof ValidationError
        ? { ...reason.details, issues: reason.issues }
        : reason.details;
      return {
        status: "rejected",
        reason: {
          code: reason.code,
          message: reason.message,
          ...(details ? { details } : {}),
        },
      };
    }
    case "failed":
      return failedOutcome(result.error);
  }
}

function failedOutcome(error: unknown): SyncOutcome {
  // Infrastructure messages stay on the server; the name says what kind.
  const name = error instanceof Error ? error.name : "Error";
  return {
    status: "failed",
    error: {
      name,
      message: "The server could not decide the command now; it will be retried",
    },
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}

function refuse(
  status: number,
  code: SyncErrorCode,
  message: string,
  issues?: { path: string; message: string }[],
): Response {
  const body: SyncErrorBody = { error: { code, message, ...(issues ? { issues } : {}) } };
  return json(status, body);
}

/** The body as text, or `undefined` when it is larger than `max` bytes. */
async function bodyText(request: Request, max: number): Promise<string | undefined> {
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > max) return undefined;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}
