/**
 * A wake-up signal to followers elsewhere (other processes, other tabs),
 * sent at most once per interval: the first request after a quiet spell
 * sends at once, later requests within the interval share one send at its
 * end, and a send still in flight holds the next one back. PostgreSQL's
 * NOTIFY and IndexedDB's BroadcastChannel message are sent through one.
 *
 * @module
 */

/**
 * Throttles a signal; see the module documentation.
 *
 * @example Three requests, two sends
 * ```ts
 * import { ThrottledSignal } from "@verdict/verdict/store-kit";
 * import assert from "node:assert/strict";
 *
 * let sent = 0;
 * const signal = new ThrottledSignal("notifyIntervalMs", 60_000, () => void sent++);
 * signal.request();
 * signal.request();
 * signal.request();
 * assert.equal(sent, 1); // the first at once; the others wait for the interval
 * await signal.close(); // which sends the held one now
 * assert.equal(sent, 2);
 * ```
 */
export class ThrottledSignal {
  readonly #interval: number;
  readonly #send: () => Promise<unknown> | void;
  #last = -Infinity;
  #pending = false;
  #timer?: ReturnType<typeof setTimeout>;
  #inFlight?: Promise<void>;
  #closed = false;

  /**
   * A signal sent through `send`, at most once per `interval`.
   *
   * @param option the name of the setting `interval` comes from, for the error
   * @param interval the shortest time between two sends, in ms (0: after
   *   every request, one at a time); `option` names it in the error
   * @param send sends one signal; its failure is ignored (followers poll)
   * @throws {RangeError} when `interval` is not a number >= 0
   */
  constructor(option: string, interval: number, send: () => Promise<unknown> | void) {
    if (!Number.isFinite(interval) || interval < 0) {
      throw new RangeError(
        `${option} must be a number of milliseconds >= 0, got ${interval}`,
      );
    }
    this.#interval = interval;
    this.#send = send;
  }

  /** Asks for a signal: now, or at the end of the current interval. */
  request(): void {
    if (this.#closed) return;
    this.#pending = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#inFlight || this.#timer !== undefined || this.#closed) return;
    const wait = this.#last + this.#interval - performance.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, wait);
      return;
    }
    this.#fire();
  }

  #fire(): void {
    this.#pending = false;
    this.#last = performance.now();
    let sent: Promise<unknown> | void;
    try {
      sent = this.#send();
    } catch {
      return; // followers also poll
    }
    if (!sent) return;
    this.#inFlight = sent.then(() => {}, () => {/* followers also poll */})
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#pending) this.#schedule();
      });
  }

  /** Takes no more requests; a held signal is sent now, and awaited. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    if (this.#pending) {
      this.#fire();
      await this.#inFlight;
    }
  }
}
