/**
 * An idle pool does not keep the process alive: the sockets of a pool that
 * `openPostgresStores` makes are unref'd while no call of the stores is in
 * flight and nobody waits for events, and ref'd again while one is (what
 * node-postgres calls `allowExitOnIdle`). A script that forgets `close()`
 * ends when its work does, in Node and in Deno; a worker that follows
 * events stays alive, for its wait is a call in flight.
 *
 * @module
 */

import { connect, type Socket } from "node:net";

/** The connection options postgres.js hands a custom socket factory. */
interface SocketOptions {
  readonly host: readonly string[];
  readonly port: readonly number[];
  readonly path?: string | false;
  readonly connect_timeout?: number;
}

/**
 * The sockets of one pool and the calls in flight on it: sockets are ref'd
 * while `busy > 0`, unref'd otherwise.
 */
export class PoolActivity {
  readonly #sockets = new Set<Socket>();
  #busy = 0;

  /**
   * A connected socket, for postgres.js's `socket` option: each host in turn
   * (or the Unix socket `path`), within `connect_timeout` seconds.
   */
  readonly socket = async (options: SocketOptions): Promise<Socket> => {
    const targets: { host?: string; port?: number; path?: string }[] = options.path
      ? [{ path: options.path }]
      : options.host.map((host, i) => ({ host, port: options.port[i] ?? 5432 }));
    let last: unknown;
    for (const target of targets) {
      try {
        const socket = await connected(target, (options.connect_timeout ?? 30) * 1000);
        this.#sockets.add(socket);
        socket.once("close", () => this.#sockets.delete(socket));
        if (this.#busy === 0) socket.unref();
        return socket;
      } catch (error) {
        last = error;
      }
    }
    throw last;
  };

  /** `work`, with the pool's sockets keeping the process alive until it settles. */
  hold<T>(work: () => PromiseLike<T>): Promise<T> {
    if (this.#busy++ === 0) { for (const socket of this.#sockets) socket.ref(); }
    let settled: Promise<T>;
    try {
      settled = Promise.resolve(work());
    } catch (error) {
      settled = Promise.reject(error);
    }
    return settled.finally(() => {
      if (--this.#busy === 0) { for (const socket of this.#sockets) socket.unref(); }
    });
  }
}

function connected(
  target: { host?: string; port?: number; path?: string },
  timeoutMs: number,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.path
      ? connect({ path: target.path })
      : connect({ host: target.host!, port: target.port! });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to PostgreSQL timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", fail);
      resolve(socket);
    });
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once("error", fail);
  });
}

const activities = new WeakMap<object, PoolActivity>();

/** Marks `pool` as one whose sockets `activity` manages. */
export function trackActivity(pool: object, activity: PoolActivity): void {
  activities.set(pool, activity);
}

/**
 * `work()`, holding `pool`'s sockets ref'd while it runs when the pool is
 * one `openPostgresStores` made; otherwise just `work()`.
 */
export function whileActive<T>(pool: object, work: () => PromiseLike<T>): Promise<T> {
  const activity = activities.get(pool);
  return activity ? activity.hold(work) : Promise.resolve(work());
}
