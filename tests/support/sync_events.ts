/**
 * An event as the sync tests compare it, on the server or in the page:
 * what the server recorded (server-side or local timestamps and metadata
 * aside). Imported by the Chromium page too, so it imports nothing.
 */
export function comparable(event: {
  readonly id: string;
  readonly streamId: string;
  readonly version: number;
  readonly position: number;
  readonly type: string;
  readonly data: unknown;
}) {
  return {
    id: event.id,
    streamId: event.streamId,
    version: event.version,
    position: event.position,
    type: event.type,
    data: event.data,
  };
}
