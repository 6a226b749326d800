// deno-only: it starts, restarts and stops a PostgreSQL server of its own.
//
// Real PostgreSQL faults: 32 lanes dispatch audited deposits for a bounded
// time while another connection terminates random backends and the server is
// restarted once. Every dispatch must settle by its deadline, no rejection
// may escape unhandled, and every command must happen exactly once. Then 16
// lanes subscribe students to courses on queries (append conditions) while
// backends are terminated: both rules hold, and every command happens once.
import { soak } from "./support/soak.ts";
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  audit,
  type Command,
  CommandBus,
  type CommandResult,
  type Decider,
  deciderHandler,
  timeout,
  uuidv7,
} from "@verdict/verdict";
import { openPostgresStores } from "@verdict/verdict/postgres";
import {
  type CourseCommand,
  courseDecider,
  courseQuery,
  MAX_COURSES_PER_STUDENT,
} from "../examples/courses.ts";
import { withinDeadline } from "../stores/postgres/guard.ts";
import { type PostgresServer, startEmbeddedPostgres } from "./support/start_postgres.ts";

type Deposit = { type: "Deposit"; data: { account: number; amount: number } };
type Deposited = { type: "Deposited"; data: { amount: number } };
const account: Decider<Deposit, number, Deposited> = {
  initialState: () => 0,
  decide: (command) => [{ type: "Deposited", data: { amount: command.data.amount } }],
  evolve: (balance, event) => balance + event.data.amount,
};

/** The lanes run until this many backends were terminated (at least MIN_MS, at most MAX_MS). */
const TERMINATIONS = soak(120, 30);
const MIN_MS = soak(10_000, 3_000);
const MAX_MS = 90_000;
const LANES = 32;
const DEADLINE_MS = 2_000;

let server: PostgresServer | undefined;
try {
  server = await startEmbeddedPostgres();
} catch (error) {
  console.warn(
    `\n⚠ SKIPPING the PostgreSQL fault test: no embedded server could start here: ${
      error instanceof Error ? error.message.split("\n")[0] : error
    }\n`,
  );
}

Deno.test({
  name:
    "PostgreSQL under faults: 32 lanes, backends terminated at random, one server restart: every dispatch settles by its deadline, nothing unhandled, every command once",
  ignore: server === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const url = server!.url;
    const stores = openPostgresStores(url, {
      schema: "faults",
      max: 8,
      callTimeoutMs: 5_000,
    });
    // timeout() outermost: the dispatch settles by its deadline even while
    // the audit record's write waits on a connection that went away.
    const bus = new CommandBus<Deposit>({ onError: () => {} })
      .use(timeout(DEADLINE_MS))
      .use(audit(stores.commandLog))
      .register(
        "Deposit",
        deciderHandler({
          decider: account,
          store: stores.events,
          streamId: (command: Deposit) => `account-${command.data.account}`,
          retry: { maxAttempts: 6, baseDelayMs: 5, maxDelayMs: 50 },
        }),
      );

    // Listening after the stores exist, as an application would: what they
    // handle (postgres.js's own orphaned rejections) is not counted.
    const unhandled = unhandledRejections();
    const started = performance.now();
    const outcomes = new Map<string, { command: Deposit; result: CommandResult }>();
    let slowest = 0;
    let attempts = 0;
    let failedAttempts = 0;
    let stop = false;

    const lanes = Array.from({ length: LANES }, async (_, lane) => {
      for (let i = 0; !stop; i++) {
        const id = uuidv7();
        const command: Deposit = {
          type: "Deposit",
          data: { account: (lane * 7 + i) % 200, amount: 1 + (i % 5) },
        };
        const result = await untilSettled(bus, command, id, (settled, ms) => {
          slowest = Math.max(slowest, ms);
          attempts++;
          if (settled.status === "failed") failedAttempts++;
        });
        outcomes.set(id, { command, result });
      }
    });

    // The killer: its own connection, terminating one random app backend
    // every ~40 ms; once, the server restarts under everyone.
    let terminations = 0;
    let misses = 0;
    let killerErrors = 0;
    let restarts = 0;
    const killer = (async () => {
      let admin = postgres(server!.url, { max: 1, onnotice: () => {} });
      while (!stop) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const elapsed = performance.now() - started;
        if (
          elapsed >= MAX_MS || (terminations >= TERMINATIONS && elapsed >= MIN_MS)
        ) {
          stop = true;
          break;
        }
        if (restarts === 0 && terminations >= TERMINATIONS / 2) {
          await admin.end({ timeout: 1 }).catch(() => {});
          await server!.restart!();
          restarts++;
          admin = postgres(server!.url, { max: 1, onnotice: () => {} });
          continue;
        }
        try {
          const rows = await withinDeadline(
            admin`
            select pg_terminate_backend(pid) as done from pg_stat_activity
            where backend_type = 'client backend' and pid <> pg_backend_pid()
            order by random() limit 1`,
            2_000,
          );
          if (rows[0]?.done) terminations++;
          else misses++;
        } catch {
          // The admin connection met the restart: the next round reconnects.
          killerErrors++;
        }
      }
      await admin.end({ timeout: 1 }).catch(() => {});
    })();

    await killer;
    await Promise.all(lanes);
    const ranMs = performance.now() - started;

    // What the store holds, read on a fresh pool after the dust settled.
    const check = openPostgresStores(server!.url, { schema: "faults", max: 2 });
    const events = await check.events.readAll();
    const perCommand = new Map<string, number>();
    for (const event of events) {
      const cause = String(event.metadata.causationId);
      perCommand.set(cause, (perCommand.get(cause) ?? 0) + 1);
    }
    let duplicates = 0, lost = 0, unsettled = 0, untrue = 0;
    const balances = new Map<number, number>();
    for (const [id, { command, result }] of outcomes) {
      const stored = perCommand.get(id) ?? 0;
      if (result.status === "failed") {
        unsettled++;
        continue;
      }
      if (stored === 0) lost++;
      if (stored > 1) duplicates += stored - 1;
      if ((await check.commandLog.get(id))?.status !== "accepted") untrue++;
      const key = command.data.account;
      balances.set(key, (balances.get(key) ?? 0) + command.data.amount);
    }
    let mismatched = 0;
    for (const [key, balance] of balances) {
      const replayed = (await check.events.readStream<Deposited>(`account-${key}`))
        .reduce(account.evolve, 0);
      if (replayed !== balance) mismatched++;
    }
    await check.close();
    await stores.close().catch(() => {});
    unhandled.stop();

    console.log(
      `PostgreSQL faults: ${outcomes.size} commands in ${
        (ranMs / 1000).toFixed(0)
      } s on ${LANES} lanes, ${attempts} dispatches (${failedAttempts} failed and retried), ${terminations} backends terminated (${misses} rounds found none, ${killerErrors} failed), ${restarts} restart; slowest dispatch ${
        slowest.toFixed(0)
      } ms (deadline ${DEADLINE_MS} ms); duplicates ${duplicates}, lost ${lost}, unsettled ${unsettled}, untrue ${untrue}, balances off ${mismatched}, unhandled rejections ${unhandled.reasons.length}`,
    );
    assert.deepEqual(unhandled.reasons.map(String), [], "no rejection escaped");
    // Five sixths of the aim: the lanes may reach MAX_MS first.
    const enough = Math.floor(TERMINATIONS * 5 / 6);
    assert.ok(
      terminations >= enough,
      `at least ${enough} terminations, got ${terminations}`,
    );
    assert.equal(restarts, 1);
    // At the deadline, give or take the event loop of a loaded machine.
    assert.ok(slowest <= DEADLINE_MS + 1_000, `every dispatch settled by its deadline`);
    assert.deepEqual(
      { duplicates, lost, unsettled, untrue, mismatched },
      { duplicates: 0, lost: 0, unsettled: 0, untrue: 0, mismatched: 0 },
    );
    assert.equal(events.length, outcomes.size, "one event per command");
  },
});

Deno.test({
  name:
    "PostgreSQL under faults: course subscriptions on queries while backends are terminated at random: capacity and the 5-course limit hold, every command once, its outcome recorded",
  ignore: server === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stores = openPostgresStores(server!.url, {
      schema: "faults_dcb",
      max: 8,
      callTimeoutMs: 5_000,
    });
    const handler = deciderHandler({
      decider: courseDecider,
      store: stores.events,
      query: courseQuery,
      streamId: (command: CourseCommand) => `course-${command.data.courseId}`,
      retry: { maxAttempts: 12, baseDelayMs: 5, maxDelayMs: 50 },
    });
    const bus = new CommandBus<CourseCommand>({ onError: () => {} })
      .use(timeout(DEADLINE_MS))
      .use(audit(stores.commandLog))
      .register("DefineCourse", handler)
      .register("SubscribeStudent", handler);
    const COURSES = 10, CAPACITY = 15, STUDENTS = 40;
    for (let c = 0; c < COURSES; c++) {
      const defined = await bus.dispatch({
        type: "DefineCourse",
        data: { courseId: `c${c}`, capacity: CAPACITY },
      });
      assert.equal(defined.status, "accepted");
    }

    const unhandled = unhandledRejections();
    const started = performance.now();
    const outcomes = new Map<string, CommandResult>();
    let stop = false;
    const lanes = Array.from({ length: 16 }, async (_, lane) => {
      for (let i = 0; !stop; i++) {
        const id = uuidv7();
        const command: CourseCommand = {
          type: "SubscribeStudent",
          data: {
            courseId: `c${(lane * 7 + i * 3) % COURSES}`,
            studentId: `s${(lane * 13 + i) % STUDENTS}`,
          },
        };
        outcomes.set(id, await untilSettled(bus, command, id));
      }
    });
    const terminations = { count: 0 };
    await terminateBackends(server!.url, terminations, () => {
      const elapsed = performance.now() - started;
      // Past the 150 seats, so that both outcomes happen, however slow.
      return elapsed >= MAX_MS ||
        (terminations.count >= TERMINATIONS / 2 && elapsed >= MIN_MS &&
          outcomes.size >= 300);
    });
    stop = true;
    await Promise.all(lanes);

    // What the store holds, read on a fresh pool.
    const check = openPostgresStores(server!.url, { schema: "faults_dcb", max: 2 });
    const subscriptions =
      (await check.events.readQuery([{ types: ["StudentSubscribed"] }]))
        .events as {
          data: { courseId: string; studentId: string };
          metadata: Record<string, unknown>;
        }[];
    const perCourse = new Map<string, number>();
    const perStudent = new Map<string, number>();
    const pairs = new Set<string>();
    const perCommand = new Map<string, number>();
    let doubled = 0;
    for (const { data, metadata } of subscriptions) {
      perCourse.set(data.courseId, (perCourse.get(data.courseId) ?? 0) + 1);
      perStudent.set(data.studentId, (perStudent.get(data.studentId) ?? 0) + 1);
      const pair = `${data.courseId}/${data.studentId}`;
      if (pairs.has(pair)) doubled++;
      pairs.add(pair);
      const cause = String(metadata.causationId);
      perCommand.set(cause, (perCommand.get(cause) ?? 0) + 1);
    }
    let unsettled = 0, lost = 0, duplicates = 0, untrue = 0, rejected = 0;
    for (const [id, result] of outcomes) {
      if (result.status === "failed") {
        unsettled++;
        continue;
      }
      const stored = perCommand.get(id) ?? 0;
      if (result.status === "accepted") {
        if (stored === 0) lost++;
        if (stored > 1) duplicates += stored - 1;
      } else {
        rejected++;
        if (stored > 0) duplicates += stored;
      }
      // The record tells the final outcome: a rejection whose record was
      // lost answered failed, and its lane sent it again.
      if ((await check.commandLog.get(id))?.status !== result.status) untrue++;
    }
    await check.close();
    await stores.close().catch(() => {});
    unhandled.stop();
    console.log(
      `PostgreSQL faults, on queries: ${outcomes.size} commands (${rejected} rejected), ${subscriptions.length} subscriptions, ${terminations.count} backends terminated; fullest course ${
        Math.max(...perCourse.values())
      } of ${CAPACITY}, busiest student ${
        Math.max(...perStudent.values())
      } of ${MAX_COURSES_PER_STUDENT}; doubled ${doubled}, lost ${lost}, duplicates ${duplicates}, unsettled ${unsettled}, untrue ${untrue}, unhandled ${unhandled.reasons.length}`,
    );
    assert.deepEqual(unhandled.reasons.map(String), [], "no rejection escaped");
    assert.ok(
      terminations.count >= Math.floor(TERMINATIONS / 2 * 5 / 6),
      `terminations: ${terminations.count}`,
    );
    assert.ok(rejected > 0 && rejected < outcomes.size, "both outcomes happened");
    assert.ok(Math.max(...perCourse.values()) <= CAPACITY, "no course over capacity");
    assert.ok(
      Math.max(...perStudent.values()) <= MAX_COURSES_PER_STUDENT,
      "no student over the limit",
    );
    assert.deepEqual(
      { doubled, lost, duplicates, unsettled, untrue },
      { doubled: 0, lost: 0, duplicates: 0, unsettled: 0, untrue: 0 },
    );
  },
});

/** The rejections nobody handles from now until `stop()`, kept from Deno's default. */
function unhandledRejections(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (event: PromiseRejectionEvent) => {
    if (event.defaultPrevented) return;
    event.preventDefault();
    reasons.push(event.reason);
  };
  globalThis.addEventListener("unhandledrejection", listener);
  return {
    reasons,
    stop: () => globalThis.removeEventListener("unhandledrejection", listener),
  };
}

/**
 * Dispatches `command` under `id` until its outcome is not `failed` (at most
 * 200 tries, 20 ms apart): a failed outcome is not final (the command wrote
 * nothing, or its retry answers with what it wrote). `each` sees every try
 * and how long it took.
 */
async function untilSettled<C extends Command>(
  bus: CommandBus<C>,
  command: C,
  id: string,
  each?: (result: CommandResult, ms: number) => void,
): Promise<CommandResult> {
  for (let attempt = 0;; attempt++) {
    const t0 = performance.now();
    const result = await bus.dispatch(command, { commandId: id });
    each?.(result, performance.now() - t0);
    if (result.status !== "failed" || attempt >= 200) return result;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Terminates one random client backend every ~25 ms, on a connection of its
 * own, counting them in `terminations`, until `done()`.
 */
async function terminateBackends(
  url: string,
  terminations: { count: number },
  done: () => boolean,
): Promise<void> {
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  while (!done()) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    try {
      const rows = await withinDeadline(
        admin`
        select pg_terminate_backend(pid) as done from pg_stat_activity
        where backend_type = 'client backend' and pid <> pg_backend_pid()
        order by random() limit 1`,
        2_000,
      );
      if (rows[0]?.done) terminations.count++;
    } catch {
      // Its own connection went: the next round reconnects.
    }
  }
  await admin.end({ timeout: 1 }).catch(() => {});
}

Deno.test({
  name: "PostgreSQL under faults: stop the server",
  ignore: server === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await server!.stop();
  },
});
