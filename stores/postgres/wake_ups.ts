/**
 * How the PostgreSQL event store wakes its followers: the ones in this
 * process at once, the ones in other processes through a NOTIFY — or, with
 * a poll interval (behind a transaction pooler, where LISTEN cannot work),
 * by looking again every so often.
 *
 * @module
 */

import type { Sql } from "postgres";
import { ThrottledSignal, Waiters } from "../../src/store_kit/mod.ts";
import { waitQuery } from "./event_reads.ts";

/** The followers of one schema's events; see the module documentation. */
export class PostgresWakeUps {
  readonly #sql: Sql;
  readonly #schema: string;
  readonly #waiters = new Waiters();
  readonly #notifications: ThrottledSignal;
  #listening?: Promise<{ unlisten(): Promise<void> }>;
  /** Waits in a row that found committed events held back by an older transaction. */
  #heldBack = 0;

  /** Milliseconds between looks, instead of listening; undefined: LISTEN. */
  readonly #pollInterval?: number;

  constructor(sql: Sql, schema: string, notifyInterval: number, pollInterval?: number) {
    if (
      pollInterval !== undefined && (!Number.isFinite(pollInterval) || pollInterval < 1)
    ) {
      throw new RangeError(
        `pollInterval must be a number of milliseconds >= 1, got ${pollInterval}`,
      );
    }
    this.#sql = sql;
    this.#schema = schema;
    this.#pollInterval = pollInterval;
    // Sent without waiting for the WAL flush: a wake-up needs no durability.
    this.#notifications = new ThrottledSignal(
      "notifyInterval",
      notifyInterval,
      () =>
        sql.unsafe(
          "select set_config('synchronous_commit', 'off', true), pg_notify($1, '')",
          [this.#channel],
        ),
    );
  }

  /** The NOTIFY channel appends signal on. */
  get #channel(): string {
    return `verdict_${this.#schema}`;
  }

  /**
   * After an append committed. The NOTIFY is sent after the commit, on its
   * own — inside the append it would make every committing transaction
   * queue on PostgreSQL's notification lock — and throttled to one per
   * `notifyInterval`, so a busy writer does not pay a second statement per
   * append.
   */
  committed(): void {
    this.#waiters.wakeAll();
    this.#notifications.request();
  }

  /**
   * Resolves once events after `position` may exist: at once when they do,
   * else at this store's next commit, at a NOTIFY from another process, or
   * when `signal` aborts. Events committed but held back by an older
   * transaction still open are looked for again shortly — 5 ms, doubling to
   * 500 ms while they stay held — as their release sends no NOTIFY. With a
   * poll interval, nothing listens: the look is made again after it.
   */
  async wait(position: number, signal: AbortSignal): Promise<void> {
    if (this.#pollInterval === undefined) {
      this.#listening ??= this.#sql.listen(this.#channel, () => this.#waiters.wakeAll());
      await this.#listening;
    }
    await this.#waiters.wait(signal, async () => {
      const [{ readable, committed }] = await this.#sql.unsafe<
        { readable: boolean; committed: boolean }[]
      >(waitQuery(this.#schema), [position] as never[], { prepare: true });
      if (readable || !committed) {
        this.#heldBack = 0;
        return readable || (this.#pollInterval ?? false);
      }
      return Math.min(5 * 2 ** this.#heldBack++, 500, this.#pollInterval ?? 500);
    });
  }

  /** Wakes every waiter, sends the last NOTIFY and stops listening. */
  async close(): Promise<void> {
    this.#waiters.wakeAll();
    // The last appends' NOTIFY goes out before the pool can end.
    await this.#notifications.close();
    const listening = this.#listening;
    if (listening) await (await listening).unlisten().catch(() => {});
  }
}
