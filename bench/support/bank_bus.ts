/**
 * The bus every bench drives: the bank's account decider behind the
 * correlation middleware, and `audit()` in front when a log is given (or
 * another outermost middleware, to compare with it). No validation, so a
 * bench measures the bus, the handler and the store.
 */

import {
  audit,
  CommandBus,
  type CommandLogStore,
  correlation,
  deciderHandler,
  type EventStore,
  type Middleware,
} from "@verdict/verdict";
import { accountDefinition, type BankCommand } from "../../examples/bank.ts";

/**
 * The bank bus on `store`, audited into `log` when one is given, with
 * `outermost` in front when one is given.
 */
export function benchBank(
  store: EventStore,
  log?: CommandLogStore,
  outermost?: Middleware<BankCommand>,
): CommandBus<BankCommand> {
  const bus = new CommandBus<BankCommand>();
  if (outermost) bus.use(outermost);
  if (log) bus.use(audit(log));
  bus.use(correlation());
  const handler = deciderHandler({ ...accountDefinition, store });
  return bus
    .register("OpenAccount", handler)
    .register("Deposit", handler)
    .register("Withdraw", handler);
}
