// What the runtime probes (`runtime_probe.mjs`, `cold_probe.mjs`) share: the
// library as each runtime loads it — the sources in Deno, the npm build in
// Node — and the small account decider they drive.
const inDeno = typeof Deno !== "undefined";
const root = new URL("../../", import.meta.url);

/** The core and the memory store: `[core, memory]`. */
export const [core, memory] = inDeno
  ? [
    await import(new URL("mod.ts", root).href),
    await import(new URL("stores/memory/mod.ts", root).href),
  ]
  : [
    await import(new URL("npm/mod.js", root).href),
    await import(new URL("npm/stores/memory/mod.js", root).href),
  ];

/** An account: opened once, then deposited into. */
export const decider = {
  initialState: () => ({ open: false, balance: 0 }),
  decide(command, state) {
    if (command.type === "Open") {
      return [{ type: "Opened", data: { id: command.data.id } }];
    }
    if (!state.open) throw new core.CommandRejectedError("no account");
    return [{ type: "Deposited", data: { amount: command.data.amount } }];
  },
  evolve: (state, event) =>
    event.type === "Opened"
      ? { open: true, balance: 0 }
      : { open: state.open, balance: state.balance + event.data.amount },
};
