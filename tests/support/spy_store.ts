import type {
  AppendOptions,
  CommandLogStore,
  Event,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  StreamAppend,
} from "@verdict/verdict";

/** Wraps a store, counting calls and letting a test act before appends. */
export class SpyStore implements EventStore {
  readonly calls = {
    readStream: [] as [string, ReadStreamOptions?][],
    streamVersion: 0,
    append: 0,
  };
  /** Runs before each append reaches the inner store (to inject faults or races). */
  beforeAppend?: () => void | Promise<void>;
  /** Runs after each append committed, before it answers (to lose or delay the answer). */
  afterAppend?: () => void | Promise<void>;

  constructor(readonly inner: EventStore) {}

  get commandLog(): CommandLogStore | undefined {
    return this.inner.commandLog;
  }

  async appendToStream<E extends Event>(
    streamId: string,
    events: readonly NewEvent<E>[],
    options?: AppendOptions,
  ) {
    this.calls.append++;
    await this.beforeAppend?.();
    const result = await this.inner.appendToStream(streamId, events, options);
    await this.afterAppend?.();
    return result;
  }

  async appendToStreams<E extends Event>(
    appends: readonly StreamAppend<E>[],
    options?: Omit<AppendOptions, "expectedVersion">,
  ) {
    this.calls.append++;
    await this.beforeAppend?.();
    const results = await this.inner.appendToStreams(appends, options);
    await this.afterAppend?.();
    return results;
  }

  readStream<E extends Event>(streamId: string, options?: ReadStreamOptions) {
    this.calls.readStream.push([streamId, options]);
    return this.inner.readStream<E>(streamId, options);
  }

  readEvents<E extends Event>(ids: readonly string[]) {
    return this.inner.readEvents<E>?.(ids) ?? Promise.resolve([]);
  }

  readAll<E extends Event>(options?: ReadAllOptions) {
    return this.inner.readAll<E>(options);
  }

  streamVersion(streamId: string) {
    this.calls.streamVersion++;
    return this.inner.streamVersion(streamId);
  }

  close() {
    return this.inner.close();
  }
}
