/**
 * The demos' command line, strict: `--store VALUE` (or `--store=VALUE`) and
 * `--help`, nothing else. Anything else is one clear sentence on stderr and
 * exit code 2, before any store is opened or file written.
 */

/** What a demo was asked for. */
export interface DemoArgs {
  /** `memory`, `kv:PATH` or a `postgres://` URL; undefined for the default. */
  readonly store?: string;
}

/** The one-line usage of a demo task. */
export function usage(task: string, defaultStore: string): string {
  return `usage: deno task ${task} [--store memory | --store kv:PATH | --store postgres://USER:PASSWORD@HOST/DB]  (default: kv:${defaultStore})`;
}

/** Why `store` is not a store the demos open, or undefined when it is one. */
export function storeProblem(store: string): string | undefined {
  if (store === "memory") return undefined;
  if (store.startsWith("kv:")) {
    return store.length > "kv:".length
      ? undefined
      : "kv: needs a file path, e.g. kv:bank.kv";
  }
  if (/^postgres(ql)?:\/\/.+/.test(store)) return undefined;
  return `unknown store "${store}": use memory, kv:PATH or postgres://USER:PASSWORD@HOST/DB`;
}

/**
 * Parses a demo's arguments: the parsed arguments, `"help"`, or the
 * sentence that says what is wrong.
 */
export function parseDemoArgs(args: readonly string[]): DemoArgs | "help" | string {
  let store: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return "help";
    let value: string | undefined;
    if (arg === "--store") {
      value = args[++i];
      if (value === undefined || value.startsWith("-")) {
        return "--store needs a value: memory, kv:PATH or postgres://USER:PASSWORD@HOST/DB";
      }
    } else if (arg.startsWith("--store=")) {
      value = arg.slice("--store=".length);
    } else {
      return `unknown argument "${arg}"`;
    }
    if (store !== undefined) return "--store is given twice";
    const problem = storeProblem(value);
    if (problem) return problem;
    store = value;
  }
  return { store };
}

/**
 * The demo's arguments, or exits: 0 after printing the usage for `--help`,
 * 2 with one sentence and the usage for anything wrong.
 */
export function demoArgsOrExit(task: string, defaultStore: string): DemoArgs {
  const parsed = parseDemoArgs(Deno.args);
  if (parsed === "help") {
    console.log(usage(task, defaultStore));
    Deno.exit(0);
  }
  if (typeof parsed === "string") {
    console.error(`${task}: ${parsed}\n${usage(task, defaultStore)}`);
    Deno.exit(2);
  }
  return parsed;
}

/** The first line of an error's message: what a user needs, without the stack. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}
