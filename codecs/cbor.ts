/**
 * A CBOR payload codec for the audit middleware, on `npm:cbor-x`: smaller
 * payloads than JSON, binary data kept as bytes. One difference from JSON:
 * cbor-x decodes a `"__proto__"` key as `"__proto_"` (its guard against
 * prototype pollution); the stored bytes keep the key as it was.
 *
 * @example Audit with CBOR payloads
 * ```ts
 * import { audit, CommandBus } from "@verdict/verdict";
 * import { cborCodec } from "@verdict/verdict/cbor";
 * import { MemoryCommandLog } from "@verdict/verdict/memory";
 * import assert from "node:assert/strict";
 *
 * const log = new MemoryCommandLog();
 * const bus = new CommandBus().use(audit(log, { codec: cborCodec }));
 * bus.register("Ping", () => ({ events: [], streams: [] }));
 * const { commandId } = await bus.dispatch({ type: "Ping", data: { n: 1 } });
 *
 * const record = await log.get(commandId);
 * assert.equal(record?.payloadCodec, "cbor");
 * assert.deepEqual(cborCodec.decode(record!.payload), { type: "Ping", data: { n: 1 } });
 * ```
 *
 * @module
 */

import { decode, encode } from "cbor-x";
import type { PayloadCodec } from "../mod.ts";

/**
 * Encodes payloads as CBOR bytes.
 *
 * @example
 * ```ts
 * import { cborCodec } from "@verdict/verdict/cbor";
 * import assert from "node:assert/strict";
 *
 * const bytes = cborCodec.encode({ type: "Ping", data: { n: 1 } });
 * assert.ok(bytes instanceof Uint8Array);
 * assert.deepEqual(cborCodec.decode(bytes), { type: "Ping", data: { n: 1 } });
 * ```
 */
export const cborCodec: PayloadCodec = {
  name: "cbor",
  encode: (value) => encode(value),
  decode: (payload) => {
    if (typeof payload === "string") {
      throw new TypeError("A CBOR payload must be bytes, got a string");
    }
    return decode(payload);
  },
};
