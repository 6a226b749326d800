/**
 * How a command record maps to a row of the commands table, shared by the
 * command log and the event store's atomic audit.
 *
 * @module
 */

import type { CommandRecord, CommandRecordError, CommandStatus } from "../../mod.ts";
import { storableRecord } from "../../src/store_kit/mod.ts";

/** The columns a record fills, in the order of {@linkcode recordParameters}. */
export const commandRecordColumns =
  "id, correlation_id, causation_id, command_type, payload_text, payload_bytes, payload_codec, metadata, status, error, event_ids, stream_ids, duration_ms, recorded_at";

/** A record's values for {@linkcode commandRecordColumns}. */
export function recordParameters(given: CommandRecord): unknown[] {
  // What PostgreSQL cannot keep (NUL, lone surrogates) by the policy every log follows.
  const record = storableRecord(given);
  return [
    record.id,
    record.correlationId,
    record.causationId ?? null,
    record.type,
    typeof record.payload === "string" ? record.payload : null,
    typeof record.payload === "string" ? null : record.payload,
    record.payloadCodec,
    // postgres.js encodes values of jsonb parameters itself.
    record.metadata,
    record.status,
    record.error ?? null,
    record.eventIds,
    record.streamIds,
    record.durationMs,
    record.timestamp,
  ];
}

/** The SQL casts of the parameters, for statements that insert a record. */
export const recordCasts: readonly string[] = [
  "text",
  "text",
  "text",
  "text",
  "text",
  "bytea",
  "text",
  "jsonb",
  "text",
  "jsonb",
  "text[]",
  "text[]",
  "float8",
  "timestamptz",
];

/** A row of the commands table as postgres.js returns it. */
export interface CommandRow {
  id: string;
  correlation_id: string;
  causation_id: string | null;
  command_type: string;
  payload_text: string | null;
  payload_bytes: Uint8Array | null;
  payload_codec: string;
  metadata: Record<string, unknown>;
  status: CommandStatus;
  error: CommandRecordError | null;
  event_ids: string[];
  stream_ids: string[];
  duration_ms: number;
  recorded_at: Date;
}

/** Turns a row back into the record that was written. */
export function recordOfRow(row: CommandRow): CommandRecord {
  const record: { -readonly [K in keyof CommandRecord]: CommandRecord[K] } = {
    id: row.id,
    correlationId: row.correlation_id,
    type: row.command_type,
    payload: row.payload_text ??
      (row.payload_bytes ? new Uint8Array(row.payload_bytes) : ""),
    payloadCodec: row.payload_codec,
    metadata: row.metadata,
    status: row.status,
    eventIds: row.event_ids,
    streamIds: row.stream_ids,
    durationMs: row.duration_ms,
    timestamp: row.recorded_at,
  };
  if (row.causation_id !== null) record.causationId = row.causation_id;
  if (row.error !== null) record.error = row.error;
  return record;
}
