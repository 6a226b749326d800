import assert from "node:assert/strict";
import { uuidv7 } from "@verdict/verdict";

Deno.test("uuidv7() ids are valid, unique and strictly increasing", () => {
  const ids = Array.from({ length: 20_000 }, () => uuidv7());
  for (const id of ids.slice(0, 100)) {
    assert.match(
      id,
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  }
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
  }
  const millis = parseInt(ids[0].slice(0, 8) + ids[0].slice(9, 13), 16);
  assert.ok(Math.abs(millis - Date.now()) < 60_000, "the id carries the current time");
});

Deno.test("uuidv7(now) stamps the given time and never breaks the order", () => {
  const timeOf = (id: string) => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  // Ahead of every id made so far, by little: later ids here stay current.
  const now = Date.now() + 2;
  const stamped = uuidv7(now);
  assert.equal(timeOf(stamped), now);
  // A time before the last id's continues from that id.
  const earlier = uuidv7(now - 5_000);
  assert.ok(stamped < earlier, `${stamped} < ${earlier}`);
  assert.equal(timeOf(earlier), now);
  for (const bad of [-1, 1.5, 2 ** 48, Number.NaN]) {
    assert.throws(() => uuidv7(bad), RangeError, String(bad));
  }
});
