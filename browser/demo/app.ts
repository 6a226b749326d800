// The offline bank: the server demo's decider, bus and audit trail, running
// in the page on IndexedDB, following appends from other tabs.
import {
  type CommandResult,
  follow,
  openIndexedDbStores,
} from "@verdict/verdict/browser";
import { type BankCommand, type BankEvent, createBank } from "../../examples/bank.ts";

const stores = openIndexedDbStores("verdict-bank-demo");
let conflicts = 0;
const bank = createBank({
  store: stores.events,
  log: stores.commandLog,
  onConflict: () => {
    conflicts++;
    render();
  },
  onError: (error) => console.error(error),
});

const $ = <T extends Element>(selector: string) => document.querySelector(selector) as T;

function show(result: CommandResult, label: string): void {
  const status = $<HTMLDivElement>("#status");
  status.className = result.status;
  status.textContent = result.status === "accepted"
    ? `${label}: accepted`
    : result.status === "rejected"
    ? `${label}: REJECTED — ${result.reason.message}`
    : `${label}: failed — ${result.error.message}`;
}

/** Dispatches a command from the UI (and from tests: window.verdictDispatch). */
async function dispatch(command: BankCommand): Promise<CommandResult> {
  const result = await bank.dispatch(command, { principal: "browser" });
  // The tables first, then the status line: whoever sees the outcome sees
  // the state it produced.
  await render();
  show(result, command.type);
  return result;
}

const forms: Record<string, (data: FormData) => BankCommand> = {
  open: (d) => ({
    type: "OpenAccount",
    data: { accountId: String(d.get("accountId")), owner: String(d.get("owner")) },
  }),
  deposit: (d) => ({
    type: "Deposit",
    data: { accountId: String(d.get("accountId")), amount: Number(d.get("amount")) },
  }),
  withdraw: (d) => ({
    type: "Withdraw",
    data: { accountId: String(d.get("accountId")), amount: Number(d.get("amount")) },
  }),
  transfer: (d) => ({
    type: "Transfer",
    data: {
      transferId: crypto.randomUUID().slice(0, 8),
      from: String(d.get("from")),
      to: String(d.get("to")),
      amount: Number(d.get("amount")),
    },
  }),
};
for (const [id, toCommand] of Object.entries(forms)) {
  $<HTMLFormElement>(`#${id}`).addEventListener("submit", (event) => {
    event.preventDefault();
    dispatch(toCommand(new FormData(event.target as HTMLFormElement)));
  });
}

function rows(selector: string, cells: string[][], classes: string[] = []): void {
  const body = $<HTMLTableElement>(selector).tBodies[0];
  body.replaceChildren(
    ...cells.map((row, i) => {
      const tr = document.createElement("tr");
      for (const text of row) {
        const td = document.createElement("td");
        td.textContent = text;
        if (classes[i]) td.className = classes[i];
        tr.append(td);
      }
      return tr;
    }),
  );
}

let rendering: Promise<void> | undefined;
let queued: Promise<void> | undefined;
/**
 * Redraws from the stores. A call made while a redraw runs waits for one
 * that starts after it (the running one may have read before the latest
 * commit); calls made meanwhile share that next redraw.
 */
function render(): Promise<void> {
  if (rendering) {
    queued ??= rendering.then(() => {
      queued = undefined;
      return render();
    });
    return queued;
  }
  rendering = (async () => {
    const events = await stores.events.readAll<BankEvent>();
    const balances = new Map<string, { owner: string; balance: number }>();
    for (const event of events) {
      const id = event.streamId.replace(/^account-/, "");
      const account = balances.get(id) ?? { owner: "", balance: 0 };
      if (event.type === "AccountOpened") account.owner = event.data.owner;
      if (event.type === "MoneyDeposited" || event.type === "TransferReceived") {
        account.balance += event.data.amount;
      }
      if (event.type === "MoneyWithdrawn" || event.type === "TransferSent") {
        account.balance -= event.data.amount;
      }
      balances.set(id, account);
    }
    rows(
      "#balances",
      [...balances].map(([id, a]) => [id, a.owner, String(a.balance)]),
    );
    rows(
      "#events",
      events.slice(-40).map((
        e,
      ) => [`#${e.position}`, `${e.streamId}@${e.version}`, e.type]),
    );
    const { records } = await stores.commandLog.list({ limit: 1000 });
    const recent = records.slice(-40);
    rows(
      "#audit",
      recent.map((r) => [
        r.commandType,
        r.status.toUpperCase(),
        r.status === "accepted"
          ? `${r.eventIds.length} event(s)`
          : r.error?.message ?? "",
      ]),
      recent.map((r) => r.status === "accepted" ? "" : "rejected"),
    );
    $<HTMLParagraphElement>("#conflicts").textContent =
      `Conflicts retried in this tab: ${conflicts}`;
  })().finally(() => rendering = undefined);
  return rendering;
}

// Follow appends from this tab and the others (BroadcastChannel wakes us).
(async () => {
  for await (const _ of follow(stores.events, { pollIntervalMs: 1_000 })) await render();
})();

Object.assign(globalThis, {
  verdictDispatch: dispatch,
  verdictState: async () => ({
    events: (await stores.events.readAll()).length,
    audit: (await stores.commandLog.list({ limit: 1000 })).records.length,
    conflicts,
  }),
});
await render();
document.body.dataset.ready = "true";
