/**
 * The browser entry: verdict's core and the IndexedDB stores, in one import,
 * for offline-first web apps. Bundle it with any bundler (`deno task bundle`
 * uses esbuild).
 *
 * @example
 * ```ts
 * import "fake-indexeddb/auto"; // in a browser, IndexedDB is simply there
 * import { CommandBus, deciderHandler, openIndexedDbStores } from "@verdict/verdict/browser";
 *
 * const stores = openIndexedDbStores("my-app");
 * const bus = new CommandBus();
 * bus.register("Ping", deciderHandler({
 *   decider: { initialState: () => 0, decide: () => [{ type: "Pinged", data: null }], evolve: (n) => n + 1 },
 *   store: stores.events,
 *   streamId: () => "pings",
 * }));
 * await bus.dispatch({ type: "Ping", data: null });
 * await stores.close();
 * ```
 *
 * @module
 */

export * from "../mod.ts";
export * from "../stores/indexeddb/mod.ts";
export * from "./sync.ts";
