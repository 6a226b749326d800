/**
 * Given/when/then specs for deciders, readable as business rules.
 *
 * @module
 */

import type { Decider } from "../decider.ts";
import { fold } from "../decider.ts";
import { CommandRejectedError } from "../errors.ts";
import { AssertionFailure, checkEqual } from "./assert.ts";

/**
 * The outcome checks of a spec, after `when`.
 *
 * @example
 * ```ts
 * import type { Decider } from "@verdict/verdict";
 * import { deciderSpec, type DeciderSpecOutcome } from "@verdict/verdict/testing";
 *
 * type Toggle = { type: "Toggle"; data: null };
 * type Toggled = { type: "Toggled"; data: null };
 * const light: Decider<Toggle, boolean, Toggled> = {
 *   initialState: () => false,
 *   decide: () => [{ type: "Toggled", data: null }],
 *   evolve: (on) => !on,
 * };
 *
 * const outcome: DeciderSpecOutcome<Toggled> = deciderSpec(light).given([]).when({ type: "Toggle", data: null });
 * outcome.then([{ type: "Toggled", data: null }]);
 * ```
 */
export interface DeciderSpecOutcome<E> {
  /** Asserts that the command produced exactly these events, in order. */
  then(expected: readonly E[]): void;
  /**
   * Asserts that the command was refused with a rejection (of `errorClass`,
   * when given) and, when given, that `check` accepts the error.
   */
  thenRejects<R extends CommandRejectedError>(
    errorClass?: new (...args: never[]) => R,
    check?: (error: R) => void,
  ): void;
  /** Asserts that the command was accepted and produced no event. */
  thenNothingHappened(): void;
}

/**
 * A spec with its history set: choose the command.
 *
 * @example
 * ```ts
 * import type { Decider } from "@verdict/verdict";
 * import { deciderSpec, type DeciderSpecGiven } from "@verdict/verdict/testing";
 *
 * type Toggle = { type: "Toggle"; data: null };
 * type Toggled = { type: "Toggled"; data: null };
 * const light: Decider<Toggle, boolean, Toggled> = {
 *   initialState: () => false,
 *   decide: () => [{ type: "Toggled", data: null }],
 *   evolve: (on) => !on,
 * };
 *
 * const lightIsOn: DeciderSpecGiven<Toggle, Toggled> = deciderSpec(light).given([{ type: "Toggled", data: null }]);
 * lightIsOn.when({ type: "Toggle", data: null }).then([{ type: "Toggled", data: null }]);
 * ```
 */
export interface DeciderSpecGiven<C, E> {
  /** The command under test. */
  when(command: C): DeciderSpecOutcome<E>;
}

/**
 * A spec of one decider.
 *
 * @example
 * ```ts
 * import type { Decider } from "@verdict/verdict";
 * import { deciderSpec, type DeciderSpec } from "@verdict/verdict/testing";
 *
 * type Toggle = { type: "Toggle"; data: null };
 * type Toggled = { type: "Toggled"; data: null };
 * const light: Decider<Toggle, boolean, Toggled> = {
 *   initialState: () => false,
 *   decide: () => [{ type: "Toggled", data: null }],
 *   evolve: (on) => !on,
 * };
 *
 * const spec: DeciderSpec<Toggle, Toggled> = deciderSpec(light);
 * spec.given().when({ type: "Toggle", data: null }).then([{ type: "Toggled", data: null }]);
 * ```
 */
export interface DeciderSpec<C, E> {
  /** The events already in the stream (none for a new stream). */
  given(events?: readonly E[]): DeciderSpecGiven<C, E>;
}

/**
 * Writes a decider's rules as given/when/then checks. `given` folds the
 * history into a state, `when` decides, and the outcome checks throw an
 * `AssertionFailure` that says what differed.
 *
 * @example
 * ```ts
 * import { CommandRejectedError, type Decider } from "@verdict/verdict";
 * import { deciderSpec } from "@verdict/verdict/testing";
 *
 * type Withdraw = { type: "Withdraw"; data: { amount: number } };
 * type Changed = { type: "Deposited" | "Withdrew"; data: { amount: number } };
 * const account: Decider<Withdraw, number, Changed> = {
 *   initialState: () => 0,
 *   decide(command, balance) {
 *     if (command.data.amount > balance) throw new CommandRejectedError("insufficient funds");
 *     if (command.data.amount === 0) return [];
 *     return [{ type: "Withdrew", data: { amount: command.data.amount } }];
 *   },
 *   evolve: (balance, event) =>
 *     balance + (event.type === "Deposited" ? 1 : -1) * event.data.amount,
 * };
 *
 * const spec = deciderSpec(account);
 * const deposited: Changed = { type: "Deposited", data: { amount: 50 } };
 * spec.given([deposited])
 *   .when({ type: "Withdraw", data: { amount: 20 } })
 *   .then([{ type: "Withdrew", data: { amount: 20 } }]);
 * spec.given([deposited])
 *   .when({ type: "Withdraw", data: { amount: 80 } })
 *   .thenRejects(CommandRejectedError, (e) => e.message === "insufficient funds");
 * spec.given([deposited])
 *   .when({ type: "Withdraw", data: { amount: 0 } })
 *   .thenNothingHappened();
 * ```
 */
export function deciderSpec<C, S, E>(decider: Decider<C, S, E>): DeciderSpec<C, E> {
  return {
    given(history = []) {
      return {
        when(command) {
          const run = (): { events: readonly E[] } | { error: unknown } => {
            try {
              return { events: decider.decide(command, fold(decider, history)) };
            } catch (error) {
              return { error };
            }
          };
          const describe = (outcome: ReturnType<typeof run>) =>
            "error" in outcome
              ? `it threw ${String(outcome.error)}`
              : `it produced ${JSON.stringify(outcome.events)}`;
          return {
            then(expected) {
              const outcome = run();
              if ("error" in outcome) {
                throw new AssertionFailure(
                  `Expected events ${JSON.stringify(expected)}, but ${describe(outcome)}`,
                );
              }
              checkEqual(outcome.events, expected, "The decided events differ");
            },
            thenRejects(errorClass, check) {
              const outcome = run();
              const wanted = errorClass ?? CommandRejectedError;
              if (!("error" in outcome) || !(outcome.error instanceof wanted)) {
                throw new AssertionFailure(
                  `Expected a ${wanted.name} rejection, but ${describe(outcome)}`,
                );
              }
              const verdict = check?.(outcome.error as never) as unknown;
              if (verdict === false) {
                throw new AssertionFailure(
                  `The rejection did not pass the check: ${String(outcome.error)}`,
                );
              }
            },
            thenNothingHappened() {
              const outcome = run();
              if ("error" in outcome || outcome.events.length > 0) {
                throw new AssertionFailure(
                  `Expected no events and no rejection, but ${describe(outcome)}`,
                );
              }
            },
          };
        },
      };
    },
  };
}
