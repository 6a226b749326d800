// The sync server's edge cases, run on each store by tests/sync_server_test.ts
// (memory, PostgreSQL) and tests/sync_kv_test.ts.
import assert from "node:assert/strict";
import { type EventStore, StoreClosedError } from "@verdict/verdict";
import { CLIENT_CLAIMED, clientClaimId, SYNC_PROTOCOL } from "@verdict/verdict/sync";
import { bankServer, type StoreFactory, type TestServer } from "./sync_server.ts";

const base = "http://127.0.0.1/sync";

function push(user: string | undefined, body: unknown, init: RequestInit = {}): Request {
  return new Request(`${base}/push`, {
    method: "POST",
    headers: user ? { authorization: `Bearer ${user}` } : {},
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

function pull(user: string, cursor = 0): Request {
  return new Request(`${base}/pull?cursor=${cursor}`, {
    headers: { authorization: `Bearer ${user}` },
  });
}

function command(mid: number, type: string, data: unknown) {
  return { mid, commandId: crypto.randomUUID(), type, data };
}

function body(clientId: string, commands: unknown[]) {
  return { protocol: SYNC_PROTOCOL, clientId, schemaVersion: 1, commands };
}

async function nothingWritten(server: TestServer): Promise<void> {
  assert.deepEqual(await server.stores.events.readAll(), []);
  assert.deepEqual((await server.stores.commandLog.list({})).records, []);
}

export function cases(open: StoreFactory) {
  return async (t: Deno.TestContext) => {
    const server = await bankServer(open, {
      basePath: "/sync",
      maxBodyBytes: 4096,
      // Each owner sees the accounts they own, by the stream's first event.
      visible: (event, who) =>
        (event.metadata as { userId?: string }).userId === who.principal,
    });
    const handler = () => server.handler;
    try {
      await t.step(
        "a tampered body gets 400 with where it is wrong, and writes nothing",
        async () => {
          const good = command(1, "OpenAccount", { accountId: "T-1", owner: "Tom" });
          const bodies: unknown[] = [
            "{not json",
            [],
            { ...body("c-1", [good]), protocol: 99 },
            body("", [good]),
            body("c-1", [good, {
              ...command(1, "Deposit", { accountId: "T-1", amount: 1 }),
            }]),
            body("c-1", [good, { ...good, mid: 2 }]),
            body("c-1", [good, { ...command(2, "Deposit", null), commandId: "" }]),
            body("c-1", [good, { ...command(2, "Deposit", {}), principal: "admin" }]),
            body("c-1", [good, { ...command(2, "Deposit", {}), metadata: [] }]),
            { ...body("c-1", [good]), commands: "all of them" },
          ];
          for (const tampered of bodies) {
            const response = await handler()(push("tom", tampered));
            assert.equal(response.status, 400, JSON.stringify(tampered));
            const answer = await response.json();
            assert.equal(answer.error.code, "bad_request");
          }
          const answer = await (await handler()(push("tom", bodies[4]))).json();
          assert.deepEqual(answer.error.issues.map((i: { path: string }) => i.path), [
            "commands.1.mid",
          ]);
          await nothingWritten(server);
        },
      );

      await t.step(
        "a body over the limit gets 413; no principal gets 401; nothing written",
        async () => {
          const large = body("c-1", [
            command(1, "OpenAccount", { accountId: "X", owner: "x".repeat(5000) }),
          ]);
          const response = await handler()(push("tom", large));
          assert.equal(response.status, 413);
          assert.equal((await response.json()).error.code, "too_large");
          // Without a content-length: the body is cut off while read.
          const stream = new Blob([JSON.stringify(large)]).stream();
          const chunked = await handler()(push("tom", undefined, {
            body: stream,
            // Node's Request needs it for a streamed body.
            duplex: "half",
          } as RequestInit));
          assert.equal(chunked.status, 413);
          const anonymous = await handler()(
            push(
              undefined,
              body("c-1", [command(1, "OpenAccount", { accountId: "A", owner: "a" })]),
            ),
          );
          assert.equal(anonymous.status, 401);
          assert.equal((await handler()(new Request(`${base}/pull`))).status, 401);
          assert.equal(
            (await handler()(
              new Request(`${base}/push`, { headers: { authorization: "Bearer tom" } }),
            )).status,
            405,
          );
          assert.equal((await handler()(new Request(`${base}/nothing`))).status, 404);
          await nothingWritten(server);
        },
      );

      await t.step(
        "an unknown command type and an invalid payload are rejected outcomes",
        async () => {
          const response = await handler()(push(
            "tom",
            body("c-1", [
              command(1, "Launch", { rockets: 1 }),
              command(2, "Deposit", { accountId: "T-1", amount: -5 }),
            ]),
          ));
          assert.equal(response.status, 200);
          const { results } = await response.json();
          assert.equal(results[0].outcome.status, "rejected");
          assert.equal(results[0].outcome.reason.code, "unknown_command");
          assert.equal(results[1].outcome.status, "rejected");
          assert.equal(results[1].outcome.reason.code, "validation_failed");
          assert.deepEqual(await server.stores.events.readAll(), []);
        },
      );

      await t.step(
        "another principal can neither push under a client's id (403, nothing written) nor take over its command ids",
        async () => {
          const opened = command(1, "OpenAccount", { accountId: "O-1", owner: "Olga" });
          const first =
            await (await handler()(push("olga", body("olga-phone", [opened])))).json();
          assert.equal(first.results[0].outcome.status, "accepted");
          const claim = await server.stores.commandLog.get(clientClaimId("olga-phone"));
          assert.equal(claim?.type, CLIENT_CLAIMED);
          assert.equal(claim?.metadata.userId, "olga");
          const events = (await server.stores.events.readAll()).length;
          const records = (await server.stores.commandLog.list({})).records.length;
          // Mallory pushes under Olga's client id: refused whole.
          const under = await handler()(push(
            "mallory",
            body("olga-phone", [
              command(2, "OpenAccount", { accountId: "M-1", owner: "Mallory" }),
              { ...opened, mid: 3 },
            ]),
          ));
          assert.equal(under.status, 403);
          assert.equal((await under.json()).error.code, "forbidden");
          assert.equal((await server.stores.events.readAll()).length, events);
          assert.equal((await server.stores.commandLog.list({})).records.length, records);
          // Under a client id of her own, she replays Olga's command id.
          const stolen =
            await (await handler()(push("mallory", body("mallory", [opened]))))
              .json();
          assert.equal(stolen.results[0].duplicate, false);
          assert.equal(stolen.results[0].outcome.status, "rejected");
          assert.equal(stolen.results[0].outcome.reason.code, "command_id_taken");
          assert.equal(stolen.results[0].outcome.events, undefined);
          // Olga's own repeat is answered with the first outcome.
          const again =
            await (await handler()(push("olga", body("olga-phone", [opened])))).json();
          assert.equal(again.results[0].duplicate, true);
          assert.deepEqual(again.results[0].outcome, first.results[0].outcome);
          const record = await server.stores.commandLog.get(opened.commandId);
          assert.equal(record?.metadata.userId, "olga");
          assert.deepEqual(record?.metadata["verdict.sync"], {
            clientId: "olga-phone",
            mid: 1,
          });
        },
      );

      await t.step(
        "a pull brings only the events the principal may see, the cursor past the rest",
        async () => {
          await handler()(push(
            "pia",
            body("pia-1", [
              command(1, "OpenAccount", { accountId: "PIA", owner: "Pia" }),
            ]),
          ));
          const olga = await (await handler()(pull("olga"))).json();
          assert.deepEqual(olga.events.map((e: { streamId: string }) => e.streamId), [
            "account-O-1",
          ]);
          const pia = await (await handler()(pull("pia"))).json();
          assert.deepEqual(pia.events.map((e: { streamId: string }) => e.streamId), [
            "account-PIA",
          ]);
          assert.equal(olga.cursor, pia.cursor, "both cursors pass every event read");
          const after = await (await handler()(pull("olga", olga.cursor))).json();
          assert.deepEqual(after.events, []);
          assert.equal((await handler()(pull("olga", -1))).status, 400);
        },
      );

      await t.step(
        "a failed command stops the push: the ones after it are not decided before it",
        async () => {
          // The store refuses every append: commands fail, reads still work.
          const failing = await bankServer(async () => {
            const stores = await open();
            const real = stores.events;
            const refuse = () => Promise.reject(new StoreClosedError("test store"));
            const events: EventStore = {
              commandLog: real.commandLog,
              appendToStream: refuse,
              appendToStreams: refuse,
              readStream: (id, options) => real.readStream(id, options),
              readEvents: (ids) => real.readEvents!(ids),
              readAll: (options) => real.readAll(options),
              streamVersion: (id) => real.streamVersion(id),
              close: () => real.close(),
            };
            return { ...stores, events, close: () => stores.close() };
          }, { basePath: "/sync" });
          const response = await failing.handler(push(
            "tom",
            body("c-9", [
              command(1, "OpenAccount", { accountId: "F-1", owner: "Fay" }),
              command(2, "Deposit", { accountId: "F-1", amount: 1 }),
            ]),
          ));
          const answer = await response.json();
          assert.equal(response.status, 200, JSON.stringify(answer));
          assert.equal(answer.results.length, 1);
          assert.equal(answer.results[0].outcome.status, "failed");
          assert.equal(
            (await failing.stores.commandLog.get(answer.results[0].commandId))?.status,
            "failed",
          );
          assert.deepEqual(await failing.stores.events.readAll(), []);
          await failing.close();
        },
      );
    } finally {
      await server.close();
    }
  };
}
