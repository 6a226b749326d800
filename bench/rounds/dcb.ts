/**
 * `deno task bench:rounds dcb [rounds]`: the course-subscription workload of
 * `examples/courses.ts` — 40 courses of 30 seats, 400 students of at most 5
 * courses, 8 workers subscribing random students to random courses — decided
 * on queries (tags and an append condition), beside the same rules modelled
 * with streams (a course stream and a student stream, both checked by one
 * multi-stream append), with the decider handler's cache on, as by default,
 * and off. On the memory store and on PostgreSQL (embedded, unless
 * `DATABASE_URL` is set), the models taking turns. Prints each round's
 * commands per second and conflict rate, and the median of the paired ratios.
 */
import {
  type AppendOptions,
  CommandBus,
  CommandRejectedError,
  deciderHandler,
  type EventStore,
  type MultiStreamDecider,
  type NewEvent,
  type StateFold,
} from "@verdict/verdict";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { openPostgresStores } from "@verdict/verdict/postgres";
import { startPostgres } from "../../tests/support/start_postgres.ts";
import {
  courseBus,
  type CourseCommand,
  MAX_COURSES_PER_STUDENT,
} from "../../examples/courses.ts";
import { median, roundsArgument, time } from "./shared.ts";

const ROUNDS = roundsArgument("bench:rounds dcb", 7);
const COURSES = 40;
const CAPACITY = 30;
const STUDENTS = 400;
const WORKERS = 8;
const PER_WORKER = 250;

/** The streams model's events: one per stream, both written by a subscription. */
type StreamEvent =
  | { type: "CourseDefined"; data: { capacity: number } }
  | { type: "StudentAdmitted"; data: { studentId: string } }
  | { type: "CourseTaken"; data: { courseId: string } };

const course: StateFold<{ capacity?: number; students: string[] }, StreamEvent> = {
  initialState: () => ({ students: [] }),
  evolve: (state, event) =>
    event.type === "CourseDefined"
      ? { ...state, capacity: event.data.capacity }
      : event.type === "StudentAdmitted"
      ? { ...state, students: [...state.students, event.data.studentId] }
      : state,
};
const student: StateFold<string[], StreamEvent> = {
  initialState: () => [],
  evolve: (courses, event) =>
    event.type === "CourseTaken" ? [...courses, event.data.courseId] : courses,
};

/** The same rules, on a course stream and a student stream. */
const subscribeOnStreams: MultiStreamDecider<
  Extract<CourseCommand, { type: "SubscribeStudent" }>,
  { course: { capacity?: number; students: string[] }; student: string[] },
  StreamEvent
> = {
  states: { course, student },
  decide(command, state) {
    const { courseId, studentId } = command.data;
    if (state.course.capacity === undefined) {
      throw new CommandRejectedError("no such course", { code: "course_not_found" });
    }
    if (state.course.students.includes(studentId)) {
      throw new CommandRejectedError("already", { code: "already_subscribed" });
    }
    if (state.course.students.length >= state.course.capacity) {
      throw new CommandRejectedError("full", { code: "course_full" });
    }
    if (state.student.length >= MAX_COURSES_PER_STUDENT) {
      throw new CommandRejectedError("too many", { code: "too_many_courses" });
    }
    return {
      course: [{ type: "StudentAdmitted", data: { studentId } }],
      student: [{ type: "CourseTaken", data: { courseId } }],
    };
  },
};

/** `store`, counting the conditional appends it refused. */
function counting(store: EventStore): { store: EventStore; refused: () => number } {
  let refused = 0;
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "appendToStream") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (
        streamId: string,
        events: readonly NewEvent[],
        options?: AppendOptions,
      ) => {
        try {
          return await target.appendToStream(streamId, events, options);
        } catch (error) {
          if (options?.condition) refused++;
          throw error;
        }
      };
    },
  });
  return { store: wrapped, refused: () => refused };
}

interface Run {
  ms: number;
  accepted: number;
  conflicts: number;
}

/** The workload: the same random commands for both models (a seeded sequence). */
function commands(): Extract<CourseCommand, { type: "SubscribeStudent" }>[][] {
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: WORKERS }, () =>
    Array.from({ length: PER_WORKER }, () => ({
      type: "SubscribeStudent" as const,
      data: {
        courseId: `c${Math.floor(next() * COURSES)}`,
        studentId: `s${Math.floor(next() * STUDENTS)}`,
      },
    })));
}
const workload = commands();

async function drive(
  bus: CommandBus<CourseCommand>,
  define: (courseId: string) => Promise<unknown>,
): Promise<{ ms: number; accepted: number }> {
  for (let c = 0; c < COURSES; c++) await define(`c${c}`);
  let accepted = 0;
  const ms = await time(async () => {
    await Promise.all(workload.map(async (lane) => {
      for (const command of lane) {
        if ((await bus.dispatch(command)).status === "accepted") accepted++;
      }
    }));
  });
  return { ms, accepted };
}

/** Where a model runs: a fresh store each time, and how to close all of it. */
type Open = () => { events: EventStore; close(): Promise<void> };

async function onQueries(open: Open): Promise<Run> {
  const opened = open();
  const { store, refused } = counting(opened.events);
  const bus = courseBus(store);
  const { ms, accepted } = await drive(
    bus,
    (courseId) =>
      bus.dispatch({ type: "DefineCourse", data: { courseId, capacity: CAPACITY } }),
  );
  await opened.close();
  return { ms, accepted, conflicts: refused() };
}

async function onStreams(open: Open, cache = true): Promise<Run> {
  const opened = open();
  const store = opened.events;
  let conflicts = 0;
  const bus = new CommandBus<CourseCommand>().register(
    "SubscribeStudent",
    deciderHandler({
      decider: subscribeOnStreams,
      store,
      streams: (command) => ({
        course: `course-${command.data.courseId}`,
        student: `student-${command.data.studentId}`,
      }),
      onConflict: () => conflicts++,
      ...(cache ? {} : { cache: false as const }),
    }),
  ) as CommandBus<CourseCommand>;
  const { ms, accepted } = await drive(
    bus,
    (courseId) =>
      store.appendToStream(`course-${courseId}`, [
        { type: "CourseDefined", data: { capacity: CAPACITY } },
      ]),
  );
  await opened.close();
  return { ms, accepted, conflicts };
}

const commandCount = WORKERS * PER_WORKER;

/** The rounds on one store: each model in turn first. */
async function compare(name: string, open: Open): Promise<void> {
  console.log(
    `course subscriptions, ${name}: ${COURSES} courses × ${CAPACITY} seats, ${STUDENTS} students, ${WORKERS} workers × ${PER_WORKER} commands, ${ROUNDS} rounds`,
  );
  // A round to warm up: every model compiled before anything is timed.
  await onQueries(open);
  await onStreams(open);
  await onStreams(open, false);
  const ratios: number[] = [];
  const coldRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Each model first in turn.
    const runs: Record<string, () => Promise<Run>> = {
      queries: () => onQueries(open),
      streams: () => onStreams(open),
      cold: () => onStreams(open, false),
    };
    const order = ["queries", "streams", "cold"];
    for (let turn = 0; turn < round % 3; turn++) order.push(order.shift()!);
    const done: Record<string, Run> = {};
    for (const model of order) done[model] = await runs[model]();
    const { queries, streams, cold } = done;
    for (const other of [streams, cold]) {
      if (queries.accepted !== other.accepted) {
        throw new Error(
          `the models disagree: ${queries.accepted} accepted on queries, ${other.accepted} on streams`,
        );
      }
    }
    ratios.push(streams.ms / queries.ms);
    coldRatios.push(cold.ms / queries.ms);
    const perSecond = (run: Run) => (commandCount / run.ms * 1_000).toFixed(0);
    const rate = (run: Run) => `${(run.conflicts / commandCount * 100).toFixed(1)}%`;
    console.log(
      `  round ${round + 1}: queries ${perSecond(queries)}/s (conflicts ${
        rate(queries)
      }), streams ${perSecond(streams)}/s (conflicts ${
        rate(streams)
      }), streams without the cache ${perSecond(cold)}/s (conflicts ${
        rate(cold)
      }); ${queries.accepted} accepted each`,
    );
  }
  const range = (values: number[]) =>
    `${median(values).toFixed(2)}× (rounds ${Math.min(...values).toFixed(2)}–${
      Math.max(...values).toFixed(2)
    })`;
  console.log(`  queries over streams: ${range(ratios)}`);
  console.log(`  queries over streams without the cache: ${range(coldRatios)}`);
}

await compare("memory store", () => {
  const events = new MemoryEventStore();
  return { events, close: () => events.close() };
});
const server = await startPostgres();
try {
  let schemas = 0;
  const run = Date.now();
  await compare(
    "PostgreSQL",
    () =>
      openPostgresStores(server.url, { schema: `dcb_${run}_${schemas++}`, max: WORKERS }),
  );
} finally {
  await server.stop();
}
