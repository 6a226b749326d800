import assert from "node:assert/strict";
import { audit, CommandRejectedError, uuidv7 } from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { deciderSpec } from "@verdict/verdict/testing";
import {
  courseBus,
  courseDecider,
  type CourseEvent,
  MAX_COURSES_PER_STUDENT,
  uniqueUsername,
  usernameBus,
} from "../examples/courses.ts";

const defined = (courseId: string, capacity: number): CourseEvent => ({
  type: "CourseDefined",
  data: { courseId, capacity },
  tags: [`course:${courseId}`],
});
const subscribed = (courseId: string, studentId: string): CourseEvent => ({
  type: "StudentSubscribed",
  data: { courseId, studentId },
  tags: [`course:${courseId}`, `student:${studentId}`],
});
const subscribe = (courseId: string, studentId: string) =>
  ({ type: "SubscribeStudent", data: { courseId, studentId } }) as const;
const rejectedWith = (code: string) => (error: CommandRejectedError) =>
  assert.equal(error.code, code);

Deno.test("course subscriptions: the rules, as given/when/then specs", async (t) => {
  const spec = deciderSpec(courseDecider);

  await t.step("a student takes a seat of a defined course", () => {
    spec.given([defined("c1", 2)])
      .when(subscribe("c1", "ada"))
      .then([subscribed("c1", "ada")]);
  });
  await t.step("a course is defined once", () => {
    spec.given([defined("c1", 2)])
      .when({ type: "DefineCourse", data: { courseId: "c1", capacity: 3 } })
      .thenRejects(CommandRejectedError, rejectedWith("course_exists"));
  });
  await t.step("no seat in a course that does not exist", () => {
    spec.given([])
      .when(subscribe("c1", "ada"))
      .thenRejects(CommandRejectedError, rejectedWith("course_not_found"));
  });
  await t.step("a full course takes no one more", () => {
    spec.given([defined("c1", 2), subscribed("c1", "ada"), subscribed("c1", "grace")])
      .when(subscribe("c1", "alan"))
      .thenRejects(CommandRejectedError, rejectedWith("course_full"));
  });
  await t.step(`a student takes at most ${MAX_COURSES_PER_STUDENT} courses`, () => {
    const taken = ["c2", "c3", "c4", "c5", "c6"].map((c) => subscribed(c, "ada"));
    spec.given([defined("c1", 30), ...taken])
      .when(subscribe("c1", "ada"))
      .thenRejects(CommandRejectedError, rejectedWith("too_many_courses"));
  });
  await t.step("a student takes a course once", () => {
    spec.given([defined("c1", 30), subscribed("c1", "ada")])
      .when(subscribe("c1", "ada"))
      .thenRejects(CommandRejectedError, rejectedWith("already_subscribed"));
  });
});

Deno.test("unique usernames: the rule, as given/when/then specs", () => {
  const spec = deciderSpec(uniqueUsername);
  const claim = (userId: string) =>
    ({ type: "ClaimUsername", data: { userId, username: "ada" } }) as const;
  spec.given([])
    .when(claim("u1"))
    .then([{
      type: "UsernameClaimed",
      data: { userId: "u1", username: "ada" },
      tags: ["username:ada"],
    }]);
  spec.given([{
    type: "UsernameClaimed",
    data: { userId: "u1", username: "ada" },
    tags: ["username:ada"],
  }])
    .when(claim("u2"))
    .thenRejects(CommandRejectedError, rejectedWith("username_taken"));
});

Deno.test("on the memory store, racing commands keep both capacity rules and unique names", async (t) => {
  await t.step("16 students race for 10 seats: 10 get one", async () => {
    const store = new MemoryEventStore();
    const bus = courseBus(store);
    await bus.dispatch({ type: "DefineCourse", data: { courseId: "c1", capacity: 10 } });
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => bus.dispatch(subscribe("c1", `s${i}`))),
    );
    assert.equal(results.filter((r) => r.status === "accepted").length, 10);
    assert.ok(
      results.every((r) =>
        r.status === "accepted" ||
        (r.status === "rejected" && r.reason.code === "course_full")
      ),
    );
    const { events } = await store.readQuery!([{ types: ["StudentSubscribed"] }]);
    assert.equal(events.length, 10);
    await store.close();
  });
  await t.step(
    `one student races for 8 courses: ${MAX_COURSES_PER_STUDENT} take them`,
    async () => {
      const store = new MemoryEventStore();
      const bus = courseBus(store);
      for (let c = 0; c < 8; c++) {
        await bus.dispatch({
          type: "DefineCourse",
          data: { courseId: `c${c}`, capacity: 30 },
        });
      }
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, c) => bus.dispatch(subscribe(`c${c}`, "ada"))),
      );
      assert.equal(
        results.filter((r) => r.status === "accepted").length,
        MAX_COURSES_PER_STUDENT,
      );
      await store.close();
    },
  );
  await t.step("16 users race for one name: one gets it", async () => {
    const store = new MemoryEventStore();
    const bus = usernameBus(store);
    const results = await Promise.all(
      Array.from(
        { length: 16 },
        (_, i) =>
          bus.dispatch({
            type: "ClaimUsername",
            data: { userId: `u${i}`, username: "ada" },
          }),
      ),
    );
    assert.equal(results.filter((r) => r.status === "accepted").length, 1);
    await store.close();
  });
});

Deno.test("a query handler with the audit: the record commits with the events, and a command sent again answers as it did", async () => {
  const log = new MemoryCommandLog();
  const store = new MemoryEventStore({ commandLog: log });
  const bus = courseBus(store).use(audit(log));
  await bus.dispatch({ type: "DefineCourse", data: { courseId: "c1", capacity: 1 } });
  const commandId = uuidv7();
  const first = await bus.dispatch(subscribe("c1", "ada"), { commandId });
  assert.equal(first.status, "accepted");
  assert.equal(first.status === "accepted" && first.recordedAtomically, true);
  assert.equal((await log.get(commandId))?.status, "accepted");
  // The same command again (a client retry): the same outcome, nothing new,
  // though the course is full now.
  const again = await bus.dispatch(subscribe("c1", "ada"), { commandId });
  assert.equal(again.status, "accepted");
  assert.deepEqual(
    again.status === "accepted" && again.events.map((e) => e.id),
    first.status === "accepted" && first.events.map((e) => e.id),
  );
  const { events } = await store.readQuery!([{ types: ["StudentSubscribed"] }]);
  assert.equal(events.length, 1);
  // Another student is refused, and the refusal is recorded.
  const refused = await bus.dispatch(subscribe("c1", "grace"));
  assert.equal(refused.status === "rejected" && refused.reason.code, "course_full");
  assert.equal((await log.get(refused.commandId))?.status, "rejected");
  await store.close();
});
