/**
 * What the IndexedDB event store knows of streams without reading: per
 * stream, a version it saw stored (events are never removed, so it stays
 * stored), and the connection it was seen on — a reopened connection may
 * find the data cleared. An append that expects a version seen needs no
 * read: adding the next version fails if another writer got there first.
 *
 * @module
 */

/** Versions seen stored, per stream; see the module documentation. */
export class SeenVersions {
  readonly #seen = new Map<string, number>();
  #seenOn = 0;

  /** The version of the stream seen stored, if any. */
  get(streamId: string): number | undefined {
    return this.#seen.get(streamId);
  }

  /** Remembers that `version` of a stream is stored, as read on `connection`. */
  saw(streamId: string, version: number, connection: number): void {
    this.forgetIfReconnected(connection);
    if (connection !== this.#seenOn) return;
    const seen = this.#seen;
    const before = seen.get(streamId);
    if (before !== undefined ? before >= version : version === 0) return;
    if (before === undefined && seen.size >= 10_000) {
      seen.delete(seen.keys().next().value as string);
    }
    seen.set(streamId, version);
  }

  /** Forgets what was seen on earlier connections. */
  forgetIfReconnected(connection: number): void {
    if (connection > this.#seenOn) {
      this.#seen.clear();
      this.#seenOn = connection;
    }
  }
}
