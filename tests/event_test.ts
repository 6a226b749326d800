// Event metadata: what a follow-up carries so a chain command → events →
// follow-up command can be walked back.
import assert from "node:assert/strict";
import { causationIdOf, causedBy, correlationIdOf, withMetadata } from "@verdict/verdict";

Deno.test("event metadata", async (t) => {
  await t.step("withMetadata adds to an event's metadata, the new keys winning", () => {
    const event = { type: "A", data: 1, metadata: { tenant: "t1", source: "web" } };
    const stamped = withMetadata(event, { source: "job", correlationId: "c-1" });
    assert.deepEqual(stamped.metadata, {
      tenant: "t1",
      source: "job",
      correlationId: "c-1",
    });
    assert.deepEqual(
      event.metadata,
      { tenant: "t1", source: "web" },
      "the original unchanged",
    );
  });

  await t.step("causedBy keeps the chain's correlation and names the cause", () => {
    const first = { id: "e-1", metadata: {} };
    const second = { id: "e-2", metadata: causedBy(first) };
    const third = { id: "e-3", metadata: causedBy(second) };
    assert.deepEqual(
      [correlationIdOf(second), causationIdOf(second)],
      ["e-1", "e-1"],
      "a chain starts at the first event",
    );
    assert.deepEqual([correlationIdOf(third), causationIdOf(third)], ["e-1", "e-2"]);
  });

  await t.step("events without metadata have no correlation or causation", () => {
    assert.equal(correlationIdOf({}), undefined);
    assert.equal(causationIdOf({}), undefined);
  });
});
