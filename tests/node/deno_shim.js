// Runs the project's Deno tests under Node's test runner: `Deno.test` becomes
// a `node:test` test and `t.step` a subtest. Loaded with `node --import`.
import process from "node:process";
import { test } from "node:test";

function adapt(nodeContext) {
  return {
    name: nodeContext.name,
    step: (name, fn) => nodeContext.test(name, (inner) => fn(adapt(inner))),
  };
}

globalThis.Deno = {
  env: { get: (name) => process.env[name] },
  test(nameOrOptions, maybeFn) {
    const name = typeof nameOrOptions === "string" ? nameOrOptions : nameOrOptions.name;
    const fn = typeof nameOrOptions === "string" ? maybeFn : nameOrOptions.fn;
    const ignore = typeof nameOrOptions === "object" && nameOrOptions.ignore === true;
    test(name, { skip: ignore }, (t) => fn(adapt(t)));
  },
};
