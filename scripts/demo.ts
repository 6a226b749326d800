/**
 * The bank demo: open accounts, deposit, have an overdraft refused, transfer
 * atomically between two accounts, then print balances, the event log and
 * the audit trail.
 *
 *   deno task demo [--store memory]
 */

import {
  type CommandResult,
  fold,
  jsonCodec,
  type RecordedEvent,
} from "@verdict/verdict";
import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import {
  type Account,
  accountDecider,
  accountStream,
  type BankEvent,
  createBank,
} from "../examples/bank.ts";

function parseStore(args: string[]): string {
  const at = args.indexOf("--store");
  const inline = args.find((arg) => arg.startsWith("--store="));
  const value = inline?.slice("--store=".length) ?? (at >= 0 ? args[at + 1] : "memory");
  if (value !== "memory") {
    console.error(`Unknown store "${value}". This build knows: memory.`);
    Deno.exit(2);
  }
  return value;
}

const storeName = parseStore(Deno.args);
const log = new MemoryCommandLog();
const store = new MemoryEventStore({ commandLog: log });
const bank = createBank({
  store,
  log,
  onError: (error) => console.error("audit error:", error),
});

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

console.log(`verdict bank demo — store: ${storeName}\n`);
const steps: [string, Parameters<typeof bank.dispatch>[0]][] = [
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
  ["Bob withdraws 50", { type: "Withdraw", data: { accountId: "B-1", amount: 50 } }],
  ["Alice transfers 30 to Bob", {
    type: "Transfer",
    data: { transferId: "T-1", from: "A-1", to: "B-1", amount: 30 },
  }],
  ["Bob withdraws 50 again", {
    type: "Withdraw",
    data: { accountId: "B-1", amount: 50 },
  }],
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

console.log("\nEvent log (global order)");
const all: RecordedEvent<BankEvent>[] = await store.readAll<BankEvent>();
for (const event of all) {
  console.log(
    `  #${String(event.position).padStart(3)}  ${event.streamId}@${event.version}  ${
      event.type.padEnd(16)
    } ${JSON.stringify(event.data)}`,
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
      `  ${record.timestamp.toISOString()}  ${record.commandType.padEnd(11)} ${
        record.status.toUpperCase().padEnd(8)
      } by ${String(record.metadata.userId).padEnd(6)} ${outcome}`,
    );
  }
  cursor = page.nextCursor;
} while (cursor);

console.log("\nWhich command caused this? The transfer, with the events it produced:");
const transfer = await log.get(transferCommandId);
if (transfer) {
  console.log(`  command ${transfer.id} (${transfer.commandType}, ${transfer.status})`);
  console.log(`  payload  ${JSON.stringify(jsonCodec.decode(transfer.payload))}`);
  const caused = all.filter((event) => event.metadata.causationId === transfer.id);
  for (const event of caused) {
    console.log(
      `  → ${event.streamId}@${event.version} ${event.type} ${
        JSON.stringify(event.data)
      }`,
    );
  }
}
await store.close();
await log.close();
