import assert from "node:assert/strict";
import {
  type Command,
  CommandBus,
  type CommandContext,
  type CommandHandler,
  CommandRejectedError,
  type CommandResult,
  type Middleware,
  NextCalledTwiceError,
  UnknownCommandError,
  validate,
  ValidationError,
} from "@verdict/verdict";

type Ping = Command<"Ping", { n: number }>;
const nothing = { events: [], streams: [] };

Deno.test("CommandBus", async (t) => {
  await t.step(
    "dispatch() runs the registered handler and reports it accepted",
    async () => {
      const bus = new CommandBus<Ping>();
      let seen: Ping | undefined;
      bus.register("Ping", (command) => {
        seen = command;
        return nothing;
      });
      const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
      assert.equal(result.status, "accepted");
      assert.deepEqual(seen, { type: "Ping", data: { n: 1 } });
      assert.match(result.commandId, /^[0-9a-f-]{36}$/);
    },
  );

  await t.step("middleware runs as an onion, the first added outermost", async () => {
    const bus = new CommandBus<Ping>();
    const trace: string[] = [];
    for (const name of ["outer", "inner"]) {
      bus.use(async (_, next) => {
        trace.push(`${name} in`);
        const result = await next();
        trace.push(`${name} out: ${result.status}`);
        return result;
      });
    }
    bus.register("Ping", () => {
      trace.push("handler");
      return nothing;
    });
    await bus.dispatch({ type: "Ping", data: { n: 1 } });
    assert.deepEqual(trace, [
      "outer in",
      "inner in",
      "handler",
      "inner out: accepted",
      "outer out: accepted",
    ]);
  });

  await t.step("a middleware can answer without calling the handler", async () => {
    const bus = new CommandBus<Ping>();
    let handled = false;
    bus.use((ctx) =>
      Promise.resolve({
        status: "rejected",
        commandId: ctx.commandId,
        reason: new CommandRejectedError("closed for maintenance"),
      })
    );
    bus.register("Ping", () => {
      handled = true;
      return nothing;
    });
    const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
    assert.equal(result.status, "rejected");
    assert.equal(handled, false);
  });

  await t.step("a rejection thrown by the handler is a rejected result", async () => {
    const bus = new CommandBus<Ping>();
    bus.register("Ping", () => {
      throw new CommandRejectedError("no pings on Sunday", { code: "sunday" });
    });
    const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
    assert.equal(result.status, "rejected");
    if (result.status === "rejected") assert.equal(result.reason.code, "sunday");
  });

  await t.step(
    "any other error is a failed result, never a thrown dispatch",
    async () => {
      const bus = new CommandBus<Ping>();
      bus.use(async (_, next) => await next());
      bus.register("Ping", () => {
        throw new Error("database unreachable");
      });
      const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
      assert.equal(result.status, "failed");
      if (result.status === "failed") {
        assert.equal(
          result.error.message,
          "database unreachable",
        );
      }

      const throwing = new CommandBus<Ping>();
      throwing.use(() => {
        throw new TypeError("middleware bug");
      });
      const failed = await throwing.dispatch({ type: "Ping", data: { n: 1 } });
      assert.equal(failed.status, "failed");
    },
  );

  await t.step(
    "next() always resolves to a result, however the layers below end",
    async () => {
      const seen: string[] = [];
      const outer = (ctx: CommandContext<Ping>, next: () => Promise<CommandResult>) =>
        next().then((result) => {
          seen.push(`${ctx.command.data.n}: ${result.status}`);
          return result;
        });
      const cases: [string, Middleware<Ping>, CommandHandler<Ping>, string][] = [
        ["async handler rejects", (_, next) => next(), () => {
          return Promise.reject(new CommandRejectedError("no"));
        }, "rejected"],
        ["async handler fails", (_, next) => next(), async () => {
          await Promise.resolve();
          throw new Error("disk full");
        }, "failed"],
        [
          "async handler resolves to nothing",
          (_, next) => next(),
          () => Promise.resolve(undefined as unknown as typeof nothing),
          "failed",
        ],
        [
          "handler returns nothing",
          (_, next) => next(),
          () => undefined as unknown as typeof nothing,
          "failed",
        ],
        ["handler returns a thenable", (_, next) => next(), () =>
          ({
            then: (resolve: (outcome: typeof nothing) => void) => resolve(nothing),
          }) as unknown as Promise<typeof nothing>, "accepted"],
        [
          "middleware rejects after next()",
          async (_, next) => {
            await next();
            throw new Error("after");
          },
          () => nothing,
          "failed",
        ],
        [
          "middleware throws before next()",
          () => {
            throw new CommandRejectedError("before");
          },
          () => nothing,
          "rejected",
        ],
        [
          "middleware returns a plain result",
          (ctx) =>
            ({
              status: "accepted",
              commandId: ctx.commandId,
              events: [],
              streams: [],
            }) as unknown as Promise<CommandResult>,
          () => {
            throw new Error("not reached");
          },
          "accepted",
        ],
      ];
      for (const [n, [name, middleware, handler, status]] of cases.entries()) {
        const bus = new CommandBus<Ping>().use(outer).use(middleware);
        bus.register("Ping", handler);
        const result = await bus.dispatch({ type: "Ping", data: { n } });
        assert.equal(result.status, status, name);
        assert.equal(seen.at(-1), `${n}: ${status}`, name);
      }
    },
  );

  await t.step(
    "a middleware that calls next() twice fails the command; the handler ran once",
    async () => {
      let runs = 0;
      const bus = new CommandBus<Ping>().use(async (_, next) => {
        await next();
        return next();
      });
      bus.register("Ping", () => {
        runs++;
        if (runs === 1) throw new Error("first try");
        return nothing;
      });
      const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
      assert.equal(result.status, "failed");
      assert.ok(
        result.status === "failed" && result.error instanceof NextCalledTwiceError,
      );
      assert.match(result.status === "failed" ? result.error.message : "", /"Ping"/);
      assert.equal(runs, 1);
    },
  );

  await t.step("a non-Error thrown value is wrapped in an Error", async () => {
    const bus = new CommandBus<Ping>();
    bus.register("Ping", () => {
      throw "a string";
    });
    const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
    assert.equal(result.status, "failed");
    if (result.status === "failed") assert.equal(result.error.message, "a string");
  });

  await t.step(
    "an unknown command type is rejected (unknown_command), as validate() rejects one without a schema",
    async () => {
      const bare = await new CommandBus().dispatch({ type: "Nope", data: null });
      const validated = await new CommandBus()
        .use(validate({}, { unknownCommands: "reject" }))
        .register("Nope", () => ({ events: [], streams: [] }))
        .dispatch({ type: "Nope", data: null });
      for (const result of [bare, validated]) {
        assert.equal(result.status, "rejected");
        if (result.status === "rejected") {
          assert.ok(result.reason instanceof UnknownCommandError);
          assert.equal(result.reason.code, "unknown_command");
          assert.equal(result.reason.commandType, "Nope");
          assert.deepEqual(result.reason.details, { type: "Nope" });
        }
      }
    },
  );

  await t.step("a malformed command is rejected as invalid", async () => {
    const bus = new CommandBus();
    const result = await bus.dispatch(null as unknown as Command);
    assert.equal(result.status, "rejected");
    if (result.status === "rejected") assert.ok(result.reason instanceof ValidationError);
  });

  await t.step("register() refuses a second handler for the same type", () => {
    const bus = new CommandBus<Ping>();
    bus.register("Ping", () => nothing);
    assert.throws(() => bus.register("Ping", () => nothing), /already registered/);
    assert.ok(bus.handles("Ping"));
    assert.ok(!bus.handles("Pong"));
  });

  await t.step("the dispatch context reaches middleware and handler", async () => {
    const bus = new CommandBus<Ping>();
    let seen: CommandContext<Ping> | undefined;
    bus.register("Ping", (_, ctx) => {
      seen = ctx;
      return nothing;
    });
    const metadata = { ip: "127.0.0.1" };
    await bus.dispatch({ type: "Ping", data: { n: 1 } }, {
      commandId: "cmd-1",
      correlationId: "corr-1",
      causationId: "evt-0",
      principal: "ada",
      tenantId: "t-1",
      idempotencyKey: "k-1",
      deadline: 123,
      metadata,
    });
    assert.ok(seen);
    assert.equal(seen.commandId, "cmd-1");
    assert.equal(seen.correlationId, "corr-1");
    assert.equal(seen.causationId, "evt-0");
    assert.equal(seen.principal, "ada");
    assert.equal(seen.tenantId, "t-1");
    assert.equal(seen.idempotencyKey, "k-1");
    assert.equal(seen.deadline, 123);
    assert.deepEqual(seen.metadata, metadata);
    (seen.metadata as Record<string, unknown>).extra = true;
    assert.deepEqual(
      metadata,
      { ip: "127.0.0.1" },
      "the caller's metadata is not mutated",
    );
  });

  await t.step(
    "reportError() reaches onError, and a throwing onError changes nothing",
    async () => {
      const reported: unknown[] = [];
      const bus = new CommandBus<Ping>({ onError: (error) => reported.push(error) });
      bus.use(async (ctx, next) => {
        const result = await next();
        ctx.reportError(new Error("metrics backend down"));
        return result;
      });
      bus.register("Ping", () => nothing);
      const result = await bus.dispatch({ type: "Ping", data: { n: 1 } });
      assert.equal(result.status, "accepted");
      assert.equal((reported[0] as Error).message, "metrics backend down");

      const loud = new CommandBus<Ping>({
        onError: () => {
          throw new Error("hook bug");
        },
      });
      loud.use(async (ctx, next) => {
        ctx.reportError(new Error("x"));
        return await next();
      });
      loud.register("Ping", () => nothing);
      assert.equal(
        (await loud.dispatch({ type: "Ping", data: { n: 1 } })).status,
        "accepted",
      );
    },
  );
});
