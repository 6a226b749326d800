import { memorySuites } from "./support/memory_suites.ts";

// The same list runs in real Chromium: tests/browser/contract_page.ts.
for (const [suite, cases] of memorySuites()) {
  Deno.test(`the ${suite} keeps its contract`, async (t) => {
    for (const c of cases) await t.step(c.name, c.run);
  });
}
