// The offline bank: the server's account decider, running in the page on
// IndexedDB through a SyncClient. Commands are decided here at once, kept in
// the outbox, and pushed to the server when it can be reached; the server
// decides each again, and its verdict (accepted, or refused with the reason)
// is shown and kept.
import {
  type LocalResult,
  SyncClient,
  type SyncCommandState,
  type SyncStatus,
} from "@verdict/verdict/browser";
import { DexieDocumentStore, syncProjections } from "@verdict/verdict/dexie";
import { liveQuery } from "dexie";
import {
  type AccountBalance,
  balancesProjection,
  type BankCommand,
  bankDefinitions,
} from "../../examples/bank.ts";

const user = new URL(location.href).searchParams.get("user") ?? "alice";
const sync = await SyncClient.open({
  name: `bank-demo-${user}`,
  url: "/sync",
  headers: () => ({ authorization: `Bearer ${user}` }),
  pollIntervalMs: 5_000,
  retryDelayMs: { min: 250, max: 2_000 },
});
sync.registerAll(bankDefinitions);

// The balances are a read model in Dexie, kept equal to what the page sees
// (the server's events, pending commands on top), rendered by a live query.
const documents = new DexieDocumentStore({ name: `bank-demo-views-${user}` });
const views = syncProjections(sync, documents, [balancesProjection]);

const $ = <T extends Element>(selector: string) => document.querySelector(selector) as T;

function show(result: LocalResult, label: string): void {
  const status = $<HTMLDivElement>("#status");
  status.className = result.status;
  status.textContent = result.status === "pending"
    ? `${label}: saved on this device, waiting for the server`
    : `${label}: REJECTED — ${result.reason.message}`;
}

/** Dispatches a command from the UI (and from tests: window.verdictDispatch). */
async function dispatch(command: BankCommand): Promise<LocalResult> {
  const result = await sync.dispatch(command);
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
      if (classes[i]) tr.className = classes[i];
      for (const text of row) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

function verdict(command: SyncCommandState): string {
  if (command.state === "rejected") return `REJECTED — ${command.reason?.message}`;
  if (command.state === "accepted") return "ACCEPTED";
  return command.predicted?.status === "rejected"
    ? `PENDING — likely refused: ${command.predicted.reason?.message}`
    : "PENDING";
}

let rendering: Promise<void> | undefined;
let queued: Promise<void> | undefined;
/**
 * Redraws from the client. A call made while a redraw runs waits for one
 * that starts after it (the running one may have read before the latest
 * change); calls made meanwhile share that next redraw.
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
    const events = await sync.readAll();
    rows(
      "#events",
      events.slice(-40).map((e) => [
        e.pending ? "pending" : `#${e.position}`,
        `${e.streamId}@${e.version}`,
        e.type,
      ]),
      events.slice(-40).map((e) => e.pending ? "pending" : ""),
    );
    const commands = [...await sync.outcomes(), ...await sync.pending()]
      .sort((a, b) => a.mid - b.mid)
      .slice(-40);
    rows(
      "#commands",
      commands.map((c) => [c.type, JSON.stringify(c.data), verdict(c)]),
      commands.map((c) => c.state),
    );
  })().finally(() => rendering = undefined);
  return rendering;
}

const labels: Record<SyncStatus, string> = {
  online: "online — synced with the server",
  offline: "offline — commands are kept on this device",
  syncing: "syncing…",
  "update-required": "the server needs a newer app: reload",
  "needs-auth": "sign in again to sync",
};
function showStatus(status: SyncStatus): void {
  const badge = $<HTMLSpanElement>("#sync");
  badge.className = status;
  badge.textContent = labels[status];
}

liveQuery(async () => ({
  seen: await documents.list<AccountBalance>("balances"),
  confirmed: await documents.list<AccountBalance>("balances@confirmed"),
})).subscribe(({ seen, confirmed }) => {
  const server = new Map(confirmed.map(({ id, document }) => [id, document.balance]));
  const pending = seen.map(({ id, document }) => server.get(id) !== document.balance);
  rows(
    "#balances",
    seen.map(({ id, document }, i) => [
      id,
      document.owner,
      String(document.balance),
      pending[i] ? "pending" : "",
    ]),
    pending.map((p) => p ? "pending" : ""),
  );
});

sync.onStatus(showStatus);
sync.onChange(() => void render());
sync.onOutcome((command) => {
  if (command.state !== "rejected") return;
  const notice = $<HTMLDivElement>("#notice");
  notice.hidden = false;
  notice.textContent = `The server refused ${command.type} ${
    JSON.stringify(command.data)
  }: ${command.reason?.message}`;
});

Object.assign(globalThis, {
  verdictDispatch: dispatch,
  verdictState: async () => ({
    status: sync.status,
    pending: (await sync.pending()).length,
    outcomes: await sync.outcomes(),
  }),
});
$<HTMLSpanElement>("#user").textContent = user;
showStatus(sync.status);
await views.ready;
await render();
document.body.dataset.ready = "true";
