/**
 * Offline sync, server side: {@linkcode syncHandler} takes commands pushed
 * from browsers' outboxes through the application's own `CommandBus` and
 * serves the events each principal may see; the protocol's types are here
 * too. The browser side is `SyncClient` in `@verdict/verdict/browser`.
 *
 * @example Serve sync next to the rest of an app
 * ```ts
 * import { audit, CommandBus } from "@verdict/verdict";
 * import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
 * import { syncHandler } from "@verdict/verdict/sync";
 *
 * const commandLog = new MemoryCommandLog();
 * const store = new MemoryEventStore({ commandLog });
 * const sync = syncHandler({
 *   bus: new CommandBus().use(audit(commandLog)),
 *   store,
 *   commandLog,
 *   basePath: "/sync",
 *   authenticate: (request) => {
 *     const user = request.headers.get("x-user");
 *     return user ? { principal: user } : undefined;
 *   },
 * });
 * const app = (request: Request) =>
 *   new URL(request.url).pathname.startsWith("/sync/") ? sync(request) : new Response("hello");
 * const response = await app(new Request("http://localhost/sync/pull"));
 * console.log(response.status); // 401: no x-user header
 * sync.close();
 * ```
 *
 * @module
 */

export * from "./protocol.ts";
export * from "./server.ts";
