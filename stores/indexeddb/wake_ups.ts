/**
 * How the IndexedDB event store wakes its followers: the ones in this tab
 * at once, the ones in other tabs of the origin through a BroadcastChannel
 * message (throttled: see `announceInterval`). A runtime without a working
 * BroadcastChannel leaves the other tabs to poll.
 *
 * @module
 */

import { ThrottledSignal, Waiters } from "../../src/store_kit/mod.ts";

interface AppendedMessage {
  readonly type: "appended";
  readonly position: number;
}

/** The followers of one database's events; see the module documentation. */
export class TabWakeUps {
  readonly #channelName: string;
  readonly #waiters = new Waiters();
  readonly #announcements: ThrottledSignal;
  /** The channel other tabs' appends are heard on, open while someone waits. */
  #listening?: BroadcastChannel;
  /** The last position this store committed: what other tabs are told. */
  #lastCommitted = 0;

  constructor(databaseName: string, announceInterval: number) {
    this.#channelName = `verdict:${databaseName}`;
    // A channel is opened to post and closed at once: an open channel keeps
    // a Deno or Node process alive (on fake-indexeddb), and a store left
    // open must not.
    this.#announcements = new ThrottledSignal(
      "announceInterval",
      announceInterval,
      () => {
        const channel = new BroadcastChannel(this.#channelName);
        channel.postMessage(
          { type: "appended", position: this.#lastCommitted } satisfies AppendedMessage,
        );
        channel.close();
      },
    );
  }

  /**
   * After an append committed up to `position`: wakes followers in this tab
   * at once, and tells the other tabs — a message right away after a quiet
   * spell, then at most one per `announceInterval` (in Chromium, a message
   * per append added 0.1–0.6 ms to most 1.5–3 ms commands of a busy tab).
   */
  appended(position: number): void {
    this.#waiters.wakeAll();
    if (typeof BroadcastChannel !== "function") return;
    this.#lastCommitted = position;
    this.#announcements.request();
  }

  /**
   * Resolves at once when `look` finds events, else on the next append in
   * this tab or another, or when `signal` aborts.
   */
  async wait(signal: AbortSignal, look: () => Promise<boolean>): Promise<void> {
    try {
      await this.#waiters.wait(signal, () => {
        // Listening before looking: an append after the look is heard.
        this.#listen();
        return look();
      });
    } finally {
      this.#unlisten();
    }
  }

  /** Hears other tabs' appends while someone waits (a runtime without channels polls). */
  #listen(): void {
    if (this.#listening || typeof BroadcastChannel !== "function") return;
    this.#listening = new BroadcastChannel(this.#channelName);
    this.#listening.onmessage = (message: MessageEvent<AppendedMessage>) => {
      if (message.data?.type === "appended") this.#waiters.wakeAll();
    };
  }

  /** Stops hearing once nobody waits. */
  #unlisten(): void {
    if (this.#waiters.size > 0 || !this.#listening) return;
    this.#listening.close();
    this.#listening = undefined;
  }

  /** Sends a held message, wakes every waiter and stops listening. */
  async close(): Promise<void> {
    // A held message goes out before the channel closes.
    await this.#announcements.close();
    this.#waiters.wakeAll();
    this.#listening?.close();
    this.#listening = undefined;
  }
}
