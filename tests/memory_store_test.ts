import { MemoryCommandLog, MemoryEventStore } from "@verdict/verdict/memory";
import { checkEveryCommandRecorded } from "./support/every_command_recorded.ts";
import { memorySuites } from "./support/memory_suites.ts";

// The same list runs in real Chromium: tests/browser/contract_page.ts.
for (const [suite, cases] of memorySuites()) {
  Deno.test(`the ${suite} keeps its contract`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
}

Deno.test("memory: the audit trail cannot be bypassed", async (t) => {
  const log = new MemoryCommandLog();
  await checkEveryCommandRecorded(t, new MemoryEventStore({ commandLog: log }), log);
});
