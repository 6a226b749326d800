/**
 * A guard against one known crash of postgres.js 3.4.x: when a connection
 * closes while a small write is still scheduled, its `nextWrite` callback
 * calls `socket.write` on a socket it has already set to null, and the
 * `TypeError` escapes from a `setImmediate` callback, where no caller can
 * catch it, taking the whole process down (porsager/postgres issues 1066,
 * 1154 and 1208; fixes proposed, none released). The query concerned has
 * already failed with `CONNECTION_CLOSED`, or is held to the store's call
 * deadline, so that one exception — and no other — is let go. Likewise
 * the one rejection postgres.js leaves unhandled itself (see
 * `isDriverTypesRejection`).
 *
 * @module
 */

let installed = false;

/**
 * Whether `reason` is the rejection of postgres.js's own array-types query,
 * which it sends on every new connection and never awaits: when that
 * connection dies at once (a terminated backend, a restart), the rejection
 * is nobody's to handle, and the connection is retried anyway.
 */
export function isDriverTypesRejection(reason: unknown): boolean {
  const query = (reason as { query?: unknown } | null)?.query;
  return typeof query === "string" && /pg_catalog\.pg_type/.test(query) &&
    /typarray/.test(query);
}

/** Whether `error` is that crash: a `TypeError` from postgres.js's `nextWrite`. */
export function isDriverWriteCrash(error: unknown): boolean {
  return error instanceof TypeError &&
    /reading 'write'|evaluating 'socket\.write'/.test(error.message) &&
    /postgres[\\/]src[\\/]connection\.js/.test(String(error.stack)) &&
    /nextWrite/.test(String(error.stack));
}

/**
 * Installs the guard once per process: on Deno an `error` listener that
 * prevents that one exception's default; on Node an `uncaughtException`
 * listener that drops it and, for any other exception, does what Node does
 * without listeners (print it, exit 1) unless the application listens too.
 */
export function guardDriverCrash(): void {
  if (installed) return;
  installed = true;
  const global = globalThis as unknown as {
    Deno?: unknown;
    addEventListener?: (type: string, listener: (event: ErrorEvent) => void) => void;
    process?: {
      on(event: string, listener: (error: unknown) => void): void;
      listenerCount(event: string): number;
      exit(code: number): never;
    };
  };
  if (global.Deno !== undefined && global.addEventListener) {
    global.addEventListener("error", (event) => {
      if (isDriverWriteCrash(event.error)) event.preventDefault();
    });
    global.addEventListener("unhandledrejection", (event) => {
      const rejection = event as unknown as PromiseRejectionEvent;
      if (isDriverTypesRejection(rejection.reason)) rejection.preventDefault();
    });
    return;
  }
  const process = global.process;
  if (!process) return;
  process.on("uncaughtException", (error) => {
    if (isDriverWriteCrash(error)) return;
    if (process.listenerCount("uncaughtException") > 1) return;
    console.error(error);
    process.exit(1);
  });
  process.on("unhandledRejection", (reason) => {
    if (isDriverTypesRejection(reason)) return;
    if (process.listenerCount("unhandledRejection") > 1) return;
    // What Node does without listeners: the rejection becomes an exception.
    queueMicrotask(() => {
      throw reason;
    });
  });
}
