/**
 * The bank demo: open accounts, deposit, have an overdraft refused, transfer
 * atomically between two accounts, then print balances, the event log, the
 * audit trail, and the command behind the transfer's events.
 *
 *   deno task demo [--store memory | --store kv:PATH | --store postgres://…]
 *
 * The default store is a Deno KV file, .verdict/demo.kv: run the demo twice
 * and the second run continues the first one's history and audit trail.
 */

import {
  type CommandLogStore,
  type CommandResult,
  type EventStore,
  fold,
  jsonCodec,
} from "@verdict/verdict";
import { openKvStores } from "@verdict/verdict/kv";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { demoArgsOrExit, firstLine } from "./demo_args.ts";
import {
  type Account,
  accountDecider,
  accountStream,
  type BankCommand,
  type BankEvent,
  createBank,
} from "../examples/bank.ts";

interface DemoStores {
  readonly name: string;
  readonly store: EventStore;
  readonly log: CommandLogStore;
  close(): Promise<void>;
}

/** The store `--store` names (checked by demoArgsOrExit); the default is a KV file under .verdict/. */
async function openStores(choice: string | undefined): Promise<DemoStores> {
  if (choice === "memory") {
    const log = new MemoryCommandLog();
    const store = new MemoryEventStore({ commandLog: log });
    return { name: "memory", store, log, close: () => store.close() };
  }
  if (choice?.startsWith("postgres://") || choice?.startsWith("postgresql://")) {
    // Loaded only for a PostgreSQL demo.
    const { openPostgresStores } = await import("@verdict/verdict/postgres");
    const pg = openPostgresStores(choice, { schema: "bank_demo", max: 4 });
    return {
      name: `PostgreSQL ${choice.replace(/:[^:@/]*@/, ":***@")} (schema bank_demo)`,
      store: pg.events,
      log: pg.commandLog,
      close: pg.close,
    };
  }
  const path = choice?.slice("kv:".length) || ".verdict/demo.kv";
  if (choice === undefined) await Deno.mkdir(".verdict", { recursive: true });
  const kv = await openKvStores(path, { prefix: ["bank-demo"] });
  return {
    name: `Deno KV file ${path}`,
    store: kv.events,
    log: kv.commandLog,
    close: kv.close,
  };
}

function describe(result: CommandResult): string {
  switch (result.status) {
    case "accepted":
      return `accepted (${result.events.map((e) => e.type).join(", ") || "no events"})`;
    case "rejected":
      return `REJECTED: ${result.reason.message}`;
    case "failed":
      return `FAILED: ${result.error.message}`;
  }
}

const args = demoArgsOrExit("demo", ".verdict/demo.kv");
let opened: DemoStores;
let before: number;
try {
  opened = await openStores(args.store);
  // The first read reaches the store: a bad path or an unreachable server fails here.
  before = (await opened.store.readAll()).length;
} catch (error) {
  console.error(
    `demo: cannot use the store ${
      (args.store ?? "kv:.verdict/demo.kv").replace(/:[^:@/]*@/, ":***@")
    }: ${firstLine(error)}`,
  );
  Deno.exit(2);
}
const { name, store, log, close } = opened;
const bank = createBank({
  store,
  log,
  onError: (error) => console.error("audit error:", error),
});
console.log(`verdict bank demo — store: ${name}`);
console.log(
  before === 0
    ? "A fresh store: the story starts now.\n"
    : `The store already holds ${before} events from earlier runs: this run continues them.\n`,
);

const steps: [string, BankCommand][] = [
  ["Alice opens account A-1", {
    type: "OpenAccount",
    data: { accountId: "A-1", owner: "Alice" },
  }],
  ["Bob opens account B-1", {
    type: "OpenAccount",
    data: { accountId: "B-1", owner: "Bob" },
  }],
  ["Alice deposits 100", { type: "Deposit", data: { accountId: "A-1", amount: 100 } }],
  ["Bob deposits 20", { type: "Deposit", data: { accountId: "B-1", amount: 20 } }],
  ["Bob withdraws 500", { type: "Withdraw", data: { accountId: "B-1", amount: 500 } }],
  ["Alice transfers 30 to Bob", {
    type: "Transfer",
    data: {
      transferId: crypto.randomUUID().slice(0, 8),
      from: "A-1",
      to: "B-1",
      amount: 30,
    },
  }],
  ["Bob withdraws 50", { type: "Withdraw", data: { accountId: "B-1", amount: 50 } }],
];
const session = crypto.randomUUID();
let transferCommandId = "";
for (const [label, command] of steps) {
  const result = await bank.dispatch(command, {
    correlationId: session,
    principal: command.type === "OpenAccount"
      ? command.data.owner.toLowerCase()
      : "teller",
    metadata: { channel: "demo" },
  });
  if (command.type === "Transfer") transferCommandId = result.commandId;
  console.log(`  ${label.padEnd(28)} → ${describe(result)}`);
}

console.log("\nBalances");
for (const id of ["A-1", "B-1"]) {
  const events = await store.readStream<BankEvent>(accountStream(id));
  const account: Account = fold(accountDecider, events);
  console.log(`  ${id} (${account.owner}): ${account.balance}`);
}

const all = await store.readAll<BankEvent>();
console.log(`\nEvent log (global order, ${all.length} events)`);
for (const event of all) {
  console.log(
    `  #${String(event.position).padStart(8)}  ${event.streamId}@${
      String(event.version).padEnd(3)
    } ${event.type.padEnd(16)} ${JSON.stringify(event.data)}`,
  );
}

console.log("\nAudit trail (every command, accepted or not)");
let cursor: string | undefined;
do {
  const page = await log.list({ limit: 50, cursor });
  for (const record of page.records) {
    const outcome = record.status === "accepted"
      ? `${record.eventIds.length} event(s)`
      : `${record.error?.code ?? record.error?.name}: ${record.error?.message}`;
    console.log(
      `  ${record.timestamp.toISOString()}  ${record.type.padEnd(11)} ${
        record.status.toUpperCase().padEnd(8)
      } by ${String(record.metadata.userId).padEnd(6)} ${outcome}`,
    );
  }
  cursor = page.nextCursor;
} while (cursor);

console.log(
  "\nWhich command caused this? This run's transfer, with the events it produced:",
);
const transfer = await log.get(transferCommandId);
if (transfer) {
  console.log(`  command ${transfer.id} (${transfer.type}, ${transfer.status})`);
  console.log(`  payload  ${JSON.stringify(jsonCodec.decode(transfer.payload))}`);
  for (const event of all.filter((e) => e.metadata.causationId === transfer.id)) {
    console.log(
      `  → ${event.streamId}@${event.version} ${event.type} ${
        JSON.stringify(event.data)
      }`,
    );
  }
}
await close();
