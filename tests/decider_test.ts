import assert from "node:assert/strict";
import { combine, CommandRejectedError, type Decider, fold } from "@verdict/verdict";
import { AssertionFailure, deciderSpec } from "@verdict/verdict/testing";
import { accountDecider, type BankEvent, transferDecider } from "../examples/bank.ts";

const opened: BankEvent = {
  type: "AccountOpened",
  data: { accountId: "a", owner: "Ada" },
};
const deposited = (amount: number): BankEvent => ({
  type: "MoneyDeposited",
  data: { accountId: "a", amount },
});

Deno.test("the bank's rules, as given/when/then specs", async (t) => {
  const spec = deciderSpec(accountDecider);

  await t.step("a deposit into an open account is recorded", () => {
    spec.given([opened])
      .when({ type: "Deposit", data: { accountId: "a", amount: 5 } })
      .then([deposited(5)]);
  });

  await t.step("an overdraft is refused with the balance and the amount", () => {
    spec.given([opened, deposited(20)])
      .when({ type: "Withdraw", data: { accountId: "a", amount: 50 } })
      .thenRejects(CommandRejectedError, (error) => {
        assert.equal(error.code, "insufficient_funds");
        assert.deepEqual(error.details, { balance: 20, requested: 50 });
      });
  });

  await t.step("a deposit into a missing account is refused", () => {
    spec.given()
      .when({ type: "Deposit", data: { accountId: "a", amount: 5 } })
      .thenRejects();
  });

  await t.step("a transfer is sent by the source and received by the target", () => {
    const transfer = (amount: number) => ({
      type: "Transfer" as const,
      data: { transferId: "t", from: "a", to: "b", amount },
    });
    const a = fold(accountDecider, [opened, deposited(5)]);
    const b = fold(accountDecider, [{
      type: "AccountOpened",
      data: { accountId: "b", owner: "Bo" },
    }]);
    assert.deepEqual(transferDecider.decide(transfer(5), { from: a, to: b }), {
      from: [{ type: "TransferSent", data: { transferId: "t", to: "b", amount: 5 } }],
      to: [{ type: "TransferReceived", data: { transferId: "t", from: "a", amount: 5 } }],
    });
    assert.throws(
      () => transferDecider.decide(transfer(6), { from: a, to: b }),
      (error) =>
        error instanceof CommandRejectedError && error.code === "insufficient_funds",
    );
    // Money is not created: neither an empty sender nor a missing receiver.
    const nobody = accountDecider.initialState();
    for (const states of [{ from: nobody, to: b }, { from: a, to: nobody }]) {
      assert.throws(
        () => transferDecider.decide(transfer(0), states),
        (error) =>
          error instanceof CommandRejectedError && error.code === "account_not_found",
      );
    }
  });
});

Deno.test("deciderSpec fails loudly when the decider disagrees", () => {
  const spec = deciderSpec(accountDecider);
  const withdraw = { type: "Withdraw" as const, data: { accountId: "a", amount: 50 } };
  assert.throws(() => spec.given([opened]).when(withdraw).then([]), AssertionFailure);
  assert.throws(
    () => spec.given([opened, deposited(100)]).when(withdraw).thenRejects(),
    /Expected a CommandRejectedError rejection, but it produced/,
  );
  assert.throws(
    () => spec.given([opened]).when(withdraw).thenNothingHappened(),
    /but it threw/,
  );
  assert.throws(
    () =>
      spec.given([opened, deposited(100)]).when(withdraw).then([
        { type: "MoneyWithdrawn", data: { accountId: "a", amount: 49 } },
      ]),
    /at 0\.data\.amount: got 50, expected 49/,
  );
  assert.throws(
    () =>
      spec.given([opened]).when(withdraw).thenRejects(CommandRejectedError, () => false),
    /did not pass the check/,
  );
});

Deno.test("fold() applies events in order from the initial or a given state", () => {
  assert.equal(fold(accountDecider, [opened, deposited(3), deposited(4)]).balance, 7);
  assert.equal(
    fold(accountDecider, [deposited(1)], { accountId: "a", balance: 10 }).balance,
    11,
  );
  assert.deepEqual(fold(accountDecider, []), { balance: 0 });
});

Deno.test("combine() routes commands and events to both deciders, states kept apart", () => {
  type Inc = { type: "Inc"; data: number };
  type Incd = { type: "Incd"; data: number };
  type Rename = { type: "Rename"; data: string };
  type Renamed = { type: "Renamed"; data: string };
  const counter: Decider<Inc, number, Incd> = {
    initialState: () => 0,
    decide: (c) => c.type === "Inc" ? [{ type: "Incd", data: c.data }] : [],
    evolve: (s, e) => e.type === "Incd" ? s + e.data : s,
  };
  const name: Decider<Rename, string, Renamed> = {
    initialState: () => "",
    decide: (c) => c.type === "Rename" ? [{ type: "Renamed", data: c.data }] : [],
    evolve: (s, e) => e.type === "Renamed" ? e.data : s,
  };
  const both = combine(counter, name);
  let state = both.initialState();
  assert.deepEqual(state, [0, ""]);
  for (
    const command of [
      { type: "Inc", data: 2 },
      { type: "Rename", data: "x" },
      { type: "Inc", data: 3 },
    ] as (Inc | Rename)[]
  ) {
    const events = both.decide(command, state);
    assert.equal(events.length, 1, `only one decider answers ${command.type}`);
    state = fold(both, events, state);
  }
  assert.deepEqual(state, [5, "x"]);
});
