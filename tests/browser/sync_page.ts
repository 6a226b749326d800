// A page for tests/browser_sync_test.ts: the bank's deciders in a
// SyncClient, driven from puppeteer through `window.syncTest`.
import {
  type LocalResult,
  SyncClient,
  type SyncCommandState,
} from "@verdict/verdict/browser";
import {
  accountDecider,
  type BankCommand,
  bankDefinitions,
} from "../../examples/bank.ts";
import { comparable } from "../support/sync_events.ts";

let client: SyncClient | undefined;
const heard: SyncCommandState[] = [];

const api = {
  async open(options: { name: string; url: string; user: string }): Promise<string> {
    client = await SyncClient.open({
      name: options.name,
      url: options.url,
      headers: () => ({ authorization: `Bearer ${options.user}` }),
      pollIntervalMs: 1_000,
      retryDelayMs: { min: 100, max: 400 },
      requestTimeoutMs: 5_000,
    });
    client.registerAll(bankDefinitions);
    client.onOutcome((command) => heard.push(command));
    return client.clientId;
  },
  dispatch: (command: BankCommand): Promise<LocalResult> => client!.dispatch(command),
  pending: async () => (await client!.pending()).length,
  outcome: (commandId: string) => client!.outcome(commandId),
  heard: () => heard.map((command) => command.commandId),
  status: () => client!.status,
  leader: () => client!.isLeader,
  events: async () => (await client!.readAll()).map(comparable),
  balance: async (accountId: string) =>
    (await client!.state(`account-${accountId}`, accountDecider)).balance,
  sync: () => client!.sync(),
};

(globalThis as unknown as { syncTest: typeof api }).syncTest = api;
document.body.dataset.ready = "true";
