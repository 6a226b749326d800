/**
 * Deciders: domain logic as three pure, synchronous functions.
 *
 * @module
 */

/**
 * The domain logic of one kind of aggregate, written once and run on any
 * store: `decide` turns a command and the current state into events (or
 * throws a {@linkcode CommandRejectedError}), `evolve` folds one event into
 * the state, `initialState` is the state of a stream with no events.
 *
 * @typeParam C The commands it decides.
 * @typeParam S Its state.
 * @typeParam E The events it produces and folds.
 *
 * @example A counter
 * ```ts
 * import { type Decider, fold } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * type Command = { type: "Increment"; data: { by: number } };
 * type Event = { type: "Incremented"; data: { by: number } };
 *
 * const counter: Decider<Command, number, Event> = {
 *   initialState: () => 0,
 *   decide: (command) => [{ type: "Incremented", data: { by: command.data.by } }],
 *   evolve: (state, event) => state + event.data.by,
 * };
 *
 * const events = counter.decide({ type: "Increment", data: { by: 2 } }, 0);
 * assert.equal(fold(counter, events), 2);
 * ```
 */
export interface Decider<C, S, E> {
  /** The state of a stream that has no events yet. */
  initialState(): S;
  /** Decides what happens; throws a rejection to refuse. Must be pure. */
  decide(command: C, state: S): readonly E[];
  /** Applies one event to the state. Must be pure. */
  evolve(state: S, event: E): S;
}

/**
 * Folds events into a state with a decider's `evolve`, starting from `state`
 * (the decider's initial state when omitted).
 *
 * @example
 * ```ts
 * import { type Decider, fold } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * const sum: Decider<never, number, { type: "Added"; data: number }> = {
 *   initialState: () => 0,
 *   decide: () => [],
 *   evolve: (state, event) => state + event.data,
 * };
 * assert.equal(fold(sum, [{ type: "Added", data: 2 }, { type: "Added", data: 3 }]), 5);
 * assert.equal(fold(sum, [{ type: "Added", data: 1 }], 10), 11);
 * ```
 */
export function fold<S, E>(
  decider: Pick<Decider<unknown, S, E>, "initialState" | "evolve">,
  events: Iterable<E>,
  state: S = decider.initialState(),
): S {
  let current = state;
  for (const event of events) current = decider.evolve(current, event);
  return current;
}

/**
 * Combines two deciders into one that takes the commands of both, emits the
 * events of both, and keeps their states apart as a pair. Each decider sees
 * every command and event, so each must ignore the types it does not know
 * (return `[]` from `decide`, the state unchanged from `evolve`), as a
 * `switch` with a `default` branch does.
 *
 * @example
 * ```ts
 * import { combine, type Decider, fold } from "@verdict/verdict";
 * import assert from "node:assert/strict";
 *
 * type Inc = { type: "Inc"; data: null };
 * type Incd = { type: "Incd"; data: null };
 * type Toggle = { type: "Toggle"; data: null };
 * type Toggled = { type: "Toggled"; data: null };
 *
 * const counter: Decider<Inc, number, Incd> = {
 *   initialState: () => 0,
 *   decide: (c) => c.type === "Inc" ? [{ type: "Incd", data: null }] : [],
 *   evolve: (s, e) => e.type === "Incd" ? s + 1 : s,
 * };
 * const light: Decider<Toggle, boolean, Toggled> = {
 *   initialState: () => false,
 *   decide: (c) => c.type === "Toggle" ? [{ type: "Toggled", data: null }] : [],
 *   evolve: (s, e) => e.type === "Toggled" ? !s : s,
 * };
 *
 * const both = combine(counter, light);
 * const events = both.decide({ type: "Toggle", data: null }, both.initialState());
 * assert.deepEqual(fold(both, events), [0, true]);
 * ```
 */
export function combine<C1, S1, E1, C2, S2, E2>(
  first: Decider<C1, S1, E1>,
  second: Decider<C2, S2, E2>,
): Decider<C1 | C2, readonly [S1, S2], E1 | E2> {
  return {
    initialState: () => [first.initialState(), second.initialState()],
    decide: (command, [s1, s2]) => [
      ...first.decide(command as C1, s1),
      ...second.decide(command as C2, s2),
    ],
    evolve: ([s1, s2], event) => [
      first.evolve(s1, event as E1),
      second.evolve(s2, event as E2),
    ],
  };
}
