// The throttle under PostgreSQL's NOTIFY and IndexedDB's BroadcastChannel
// message (store kit): one send now, the requests of an interval share one,
// and a send still in flight holds the next one back.
import assert from "node:assert/strict";
import { ThrottledSignal } from "@verdict/verdict/store-kit";

Deno.test("ThrottledSignal", async (t) => {
  await t.step("requests within the interval share one send, made at close", async () => {
    let sent = 0;
    const signal = new ThrottledSignal("interval", 60_000, () => void sent++);
    for (let i = 0; i < 5; i++) signal.request();
    assert.equal(sent, 1, "the first at once");
    await signal.close();
    assert.equal(sent, 2, "the held one, once");
  });

  await t.step("a send in flight holds the next back until it settles", async () => {
    const settles: (() => void)[] = [];
    let sent = 0;
    const signal = new ThrottledSignal("interval", 0, () => {
      sent++;
      return new Promise<void>((resolve) => settles.push(resolve));
    });
    signal.request();
    signal.request();
    signal.request();
    assert.equal(sent, 1, "one in flight");
    settles[0]();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(sent, 2, "the held requests, as one send");
    settles[1]();
    await signal.close();
    assert.equal(sent, 2);
  });

  await t.step("a failing send is ignored: followers also poll", async () => {
    let sent = 0;
    const signal = new ThrottledSignal("interval", 0, () => {
      sent++;
      return Promise.reject(new Error("channel gone"));
    });
    signal.request();
    await signal.close();
    signal.request();
    assert.equal(sent, 1, "no request is taken after close");
  });

  await t.step(
    "a negative or non-numeric interval is refused, naming the setting",
    () => {
      assert.throws(
        () => new ThrottledSignal("notifyInterval", -1, () => {}),
        /notifyInterval/,
      );
      assert.throws(
        () => new ThrottledSignal("notifyInterval", Number.NaN, () => {}),
        RangeError,
      );
    },
  );
});
