/**
 * The bank: the example domain of verdict's demos. The same module runs in
 * the terminal demo on any server store and in the offline browser demo.
 *
 * @module
 */

import {
  audit,
  type Command,
  CommandBus,
  type CommandLogStore,
  CommandRejectedError,
  correlation,
  type Decider,
  type DeciderDefinition,
  deciderHandler,
  type DeciderHandlerSettings,
  type DocumentProjection,
  type EventStore,
  type MultiStreamDecider,
  type MultiStreamDefinition,
  type RetryPolicy,
  type SingleStreamDefinition,
  validate,
} from "@verdict/verdict";
import { z } from "zod";

/** The commands on one account. */
export type AccountCommand =
  | Command<"OpenAccount", { accountId: string; owner: string }>
  | Command<"Deposit", { accountId: string; amount: number }>
  | Command<"Withdraw", { accountId: string; amount: number }>;

/** A transfer between two accounts. */
export type TransferCommand = Command<
  "Transfer",
  { transferId: string; from: string; to: string; amount: number }
>;

/** The bank's commands. */
export type BankCommand = AccountCommand | TransferCommand;

/** The bank's events. */
export type BankEvent =
  | { type: "AccountOpened"; data: { accountId: string; owner: string } }
  | { type: "MoneyDeposited"; data: { accountId: string; amount: number } }
  | { type: "MoneyWithdrawn"; data: { accountId: string; amount: number } }
  | { type: "TransferSent"; data: { transferId: string; to: string; amount: number } }
  | {
    type: "TransferReceived";
    data: { transferId: string; from: string; amount: number };
  };

/** One account's state. */
export interface Account {
  readonly accountId?: string;
  readonly owner?: string;
  readonly balance: number;
}

function mustBeOpen(account: Account, accountId: string): void {
  if (account.accountId === undefined) {
    throw new CommandRejectedError(`account ${accountId} does not exist`, {
      code: "account_not_found",
      details: { accountId },
    });
  }
}

function mustCover(account: Account, amount: number): void {
  if (amount > account.balance) {
    throw new CommandRejectedError(
      `insufficient funds: balance ${account.balance}, requested ${amount}`,
      {
        code: "insufficient_funds",
        details: { balance: account.balance, requested: amount },
      },
    );
  }
}

/** An account's rules. */
export const accountDecider: Decider<AccountCommand, Account, BankEvent> = {
  initialState: () => ({ balance: 0 }),
  decide(command, account) {
    switch (command.type) {
      case "OpenAccount":
        if (account.accountId !== undefined) {
          throw new CommandRejectedError(
            `account ${command.data.accountId} is already open`,
            {
              code: "account_exists",
            },
          );
        }
        return [{ type: "AccountOpened", data: command.data }];
      case "Deposit":
        mustBeOpen(account, command.data.accountId);
        return [{ type: "MoneyDeposited", data: command.data }];
      case "Withdraw":
        mustBeOpen(account, command.data.accountId);
        mustCover(account, command.data.amount);
        return [{ type: "MoneyWithdrawn", data: command.data }];
    }
  },
  evolve(account, event) {
    switch (event.type) {
      case "AccountOpened":
        return { accountId: event.data.accountId, owner: event.data.owner, balance: 0 };
      case "MoneyDeposited":
      case "TransferReceived":
        return { ...account, balance: account.balance + event.data.amount };
      case "MoneyWithdrawn":
      case "TransferSent":
        return { ...account, balance: account.balance - event.data.amount };
    }
  },
};

/** The two accounts of a transfer, each folded by the account's own rules. */
export interface TransferStates {
  readonly from: Account;
  readonly to: Account;
}

/** A transfer's rule: both accounts exist, the sender covers the amount. */
export const transferDecider: MultiStreamDecider<
  TransferCommand,
  TransferStates,
  BankEvent
> = {
  states: { from: accountDecider, to: accountDecider },
  decide(command, { from, to }) {
    const { transferId, amount } = command.data;
    mustBeOpen(from, command.data.from);
    mustBeOpen(to, command.data.to);
    mustCover(from, amount);
    return {
      from: [{ type: "TransferSent", data: { transferId, to: command.data.to, amount } }],
      to: [{
        type: "TransferReceived",
        data: { transferId, from: command.data.from, amount },
      }],
    };
  },
};

/** One account in the balances read model. */
export interface AccountBalance {
  readonly owner: string;
  readonly balance: number;
}

/**
 * The balances read model: one document per account, keyed by the
 * account's id. Run it inline (the document changes in the same
 * transaction as the events) or async on a `DocumentProjectionRunner`.
 */
export const balancesProjection: DocumentProjection<BankEvent, AccountBalance> = {
  name: "balances",
  documentId: (event) => event.streamId.slice("account-".length),
  evolve(account, event) {
    switch (event.type) {
      case "AccountOpened":
        return { owner: event.data.owner, balance: 0 };
      case "MoneyDeposited":
      case "TransferReceived":
        return account && { ...account, balance: account.balance + event.data.amount };
      case "MoneyWithdrawn":
      case "TransferSent":
        return account && { ...account, balance: account.balance - event.data.amount };
    }
  },
};

/** The stream of one account. */
export const accountStream = (accountId: string): string => `account-${accountId}`;

/** An account command: the account's rules, on the account's stream. */
export const accountDefinition: SingleStreamDefinition<
  AccountCommand,
  Account,
  BankEvent
> = {
  decider: accountDecider,
  streamId: (command) => accountStream(command.data.accountId),
};

/** A transfer: its rule, on the two accounts' streams. */
export const transferDefinition: MultiStreamDefinition<
  TransferCommand,
  TransferStates,
  BankEvent
> = {
  decider: transferDecider,
  streams: (command) => ({
    from: accountStream(command.data.from),
    to: accountStream(command.data.to),
  }),
};

/**
 * Every bank command's definition, by type: what a server's handlers are
 * built from and what a page's `SyncClient` registers.
 */
export const bankDefinitions: {
  readonly [T in BankCommand["type"]]: DeciderDefinition<
    Extract<BankCommand, { type: T }>,
    BankEvent
  >;
} = {
  OpenAccount: accountDefinition,
  Deposit: accountDefinition,
  Withdraw: accountDefinition,
  Transfer: transferDefinition,
};

const id = z.string().min(1).max(100);
const amount = z.number().positive().max(1_000_000_000);

/** Payload schemas of the bank's commands. */
export const bankSchemas = {
  OpenAccount: z.object({ accountId: id, owner: z.string().min(1).max(200) }),
  Deposit: z.object({ accountId: id, amount }),
  Withdraw: z.object({ accountId: id, amount }),
  Transfer: z.object({ transferId: id, from: id, to: id, amount }),
};

/** Everything the bank needs to run. */
export interface BankOptions {
  /** Where the events live. */
  readonly store: EventStore;
  /** Where the audit trail lives (atomic with events when it is `store.commandLog`). */
  readonly log?: CommandLogStore;
  /** Called with errors that do not change a command's outcome. */
  readonly onError?: (error: unknown) => void;
  /** Called when an append met a conflict and is retried. */
  readonly onConflict?: () => void;
  /** How conflicts are retried (the handler's default: 10 attempts). */
  readonly retry?: RetryPolicy;
}

/** A command bus running the bank: audit, correlation, validation, the deciders. */
export function createBank(options: BankOptions): CommandBus<BankCommand> {
  const bus = new CommandBus<BankCommand>({ onError: options.onError });
  if (options.log) bus.use(audit(options.log));
  bus.use(correlation());
  bus.use(validate<BankCommand>(bankSchemas, { unknownCommands: "reject" }));
  const settings: DeciderHandlerSettings = {
    store: options.store,
    onConflict: options.onConflict,
    retry: options.retry,
  };
  const account = deciderHandler({ ...accountDefinition, ...settings });
  return bus
    .register("OpenAccount", account)
    .register("Deposit", account)
    .register("Withdraw", account)
    .register("Transfer", deciderHandler({ ...transferDefinition, ...settings }));
}
