/**
 * Course subscriptions and unique usernames, decided on queries instead of
 * streams (Dynamic Consistency Boundaries). Two rules cross any one stream:
 * a course takes at most its capacity of students, and a student takes at
 * most 5 courses. A subscription reads exactly the events both rules need —
 * the course's, and the student's subscriptions — and appends on the
 * condition that none of them changed since.
 *
 * Run on the memory store: `deno run examples/courses.ts`.
 *
 * @module
 */
import {
  type Command,
  CommandBus,
  CommandRejectedError,
  type Decider,
  deciderHandler,
  type EventQuery,
  type EventStore,
} from "@verdict/verdict";

/** How many courses one student may take. */
export const MAX_COURSES_PER_STUDENT = 5;

/** The commands on courses. */
export type CourseCommand =
  | Command<"DefineCourse", { courseId: string; capacity: number }>
  | Command<"SubscribeStudent", { courseId: string; studentId: string }>;

/** The events of courses, tagged with the course and the student they concern. */
export type CourseEvent =
  | {
    type: "CourseDefined";
    data: { courseId: string; capacity: number };
    tags: string[];
  }
  | {
    type: "StudentSubscribed";
    data: { courseId: string; studentId: string };
    tags: string[];
  };

const courseTag = (courseId: string) => `course:${courseId}`;
const studentTag = (studentId: string) => `student:${studentId}`;

/**
 * What a decision needs: the course's capacity, and the subscriptions the
 * query brought (the course's, and the subscribing student's).
 */
export interface CourseState {
  /** Undefined until the course is defined. */
  readonly capacity?: number;
  /** Each subscription read, once even when it is both the course's and the student's. */
  readonly subscriptions: readonly { courseId: string; studentId: string }[];
}

/**
 * The events each command's rules depend on: the course's definition and
 * subscriptions; subscribing, the student's subscriptions too.
 */
export function courseQuery(command: CourseCommand): EventQuery {
  const course = {
    types: ["CourseDefined", "StudentSubscribed"],
    tags: [courseTag(command.data.courseId)],
  };
  if (command.type === "DefineCourse") return [course];
  return [course, {
    types: ["StudentSubscribed"],
    tags: [studentTag(command.data.studentId)],
  }];
}

/** The rules: a course is defined once; capacity and the 5-course limit hold. */
export const courseDecider: Decider<CourseCommand, CourseState, CourseEvent> = {
  initialState: () => ({ subscriptions: [] }),
  evolve: (state, event) =>
    event.type === "CourseDefined"
      ? { ...state, capacity: event.data.capacity }
      : { ...state, subscriptions: [...state.subscriptions, event.data] },
  decide(command, state) {
    const { courseId } = command.data;
    if (command.type === "DefineCourse") {
      if (state.capacity !== undefined) {
        throw new CommandRejectedError(`course ${courseId} is already defined`, {
          code: "course_exists",
        });
      }
      return [{
        type: "CourseDefined",
        data: { courseId, capacity: command.data.capacity },
        tags: [courseTag(courseId)],
      }];
    }
    const { studentId } = command.data;
    if (state.capacity === undefined) {
      throw new CommandRejectedError(`course ${courseId} does not exist`, {
        code: "course_not_found",
      });
    }
    const students = state.subscriptions.filter((s) => s.courseId === courseId);
    const courses = state.subscriptions.filter((s) => s.studentId === studentId);
    if (students.some((s) => s.studentId === studentId)) {
      throw new CommandRejectedError(`${studentId} already takes ${courseId}`, {
        code: "already_subscribed",
      });
    }
    if (students.length >= state.capacity) {
      throw new CommandRejectedError(`course ${courseId} is full`, {
        code: "course_full",
        details: { capacity: state.capacity },
      });
    }
    if (courses.length >= MAX_COURSES_PER_STUDENT) {
      throw new CommandRejectedError(
        `${studentId} already takes ${MAX_COURSES_PER_STUDENT} courses`,
        { code: "too_many_courses" },
      );
    }
    return [{
      type: "StudentSubscribed",
      data: { courseId, studentId },
      tags: [courseTag(courseId), studentTag(studentId)],
    }];
  },
};

/**
 * The courses on a bus: each command decided on its query, its events
 * stored in the course's stream.
 */
export function courseBus(store: EventStore): CommandBus<CourseCommand> {
  const handler = deciderHandler({
    decider: courseDecider,
    store,
    query: courseQuery,
    streamId: (command) => `course-${command.data.courseId}`,
  });
  return new CommandBus<CourseCommand>()
    .register("DefineCourse", handler)
    .register("SubscribeStudent", handler);
}

/** A command to claim a username. */
export type ClaimUsername = Command<
  "ClaimUsername",
  { userId: string; username: string }
>;

/** The event of a claimed username, tagged with the name. */
export type UsernameClaimed = {
  type: "UsernameClaimed";
  data: { userId: string; username: string };
  tags: string[];
};

/** A username is taken once: the rule reads only the claims of that name. */
export const uniqueUsername: Decider<ClaimUsername, boolean, UsernameClaimed> = {
  initialState: () => false,
  evolve: () => true,
  decide(command, taken) {
    const { userId, username } = command.data;
    if (taken) {
      throw new CommandRejectedError(`the username ${username} is taken`, {
        code: "username_taken",
      });
    }
    return [{
      type: "UsernameClaimed",
      data: { userId, username },
      tags: [`username:${username}`],
    }];
  },
};

/** The username claims on a bus; each claim is stored in its user's stream. */
export function usernameBus(store: EventStore): CommandBus<ClaimUsername> {
  return new CommandBus<ClaimUsername>().register(
    "ClaimUsername",
    deciderHandler({
      decider: uniqueUsername,
      store,
      query: (command) => [{
        types: ["UsernameClaimed"],
        tags: [`username:${command.data.username}`],
      }],
      streamId: (command) => `user-${command.data.userId}`,
    }),
  );
}

if (import.meta.main) {
  const { MemoryEventStore } = await import("@verdict/verdict/memory");
  const store = new MemoryEventStore();
  const courses = courseBus(store);
  await courses.dispatch({ type: "DefineCourse", data: { courseId: "c1", capacity: 2 } });
  for (const studentId of ["ada", "grace", "alan"]) {
    const result = await courses.dispatch({
      type: "SubscribeStudent",
      data: { courseId: "c1", studentId },
    });
    console.log(
      `${studentId}: ${result.status}${
        result.status === "rejected" ? ` (${result.reason.message})` : ""
      }`,
    );
  }
  await store.close();
}
