/**
 * How a command is decided under a {@linkcode DeciderDefinition}: its
 * streams, validated, and the decision over their states. Internal: shared
 * by the decider handler and the sync client, so a page decides as the
 * server does.
 *
 * @module
 */

import { assertValidStreamId } from "./store_kit/append_rules.ts";
import type {
  DeciderDefinition,
  MultiStreamDefinition,
  StateFold,
  StreamRequirement,
  StreamTarget,
} from "./decider_definition.ts";
import { CommandRejectedError } from "./errors.ts";

/** One stream of a planned command (internal to the handler and the sync client). */
export interface PlannedStream {
  /** The name `decide` knows it by (the stream id for a single stream). */
  readonly name: string;
  readonly streamId: string;
  readonly require?: StreamRequirement;
  readonly fold: StateFold<unknown, unknown>;
}

/**
 * A command's streams and the decision over their states (internal to the
 * handler and the sync client).
 */
export interface CommandPlan<E> {
  /** The command's streams, each once. */
  readonly streams: readonly PlannedStream[];
  /**
   * Checks each stream's requirement against its version, then decides on
   * the states (in `streams` order): the events of each stream, in that
   * order. Throws the decider's refusal, or one for a requirement not met.
   */
  decide(states: readonly unknown[], versions: readonly number[]): (readonly E[])[];
}

/**
 * The streams a command acts on under `definition`, validated, and how it
 * is decided on them. Throws a `TypeError` for a definition that names no
 * valid stream, a rejection (`same_stream`) for two names on one stream.
 */
export function planCommand<C extends { readonly type: string }, E>(
  definition: DeciderDefinition<C, E>,
  command: C,
): CommandPlan<E> {
  if ("streams" in definition) return planMany(definition, command);
  const target = targetOf(definition.streamId(command), "streamId()");
  const { decider } = definition;
  const stream: PlannedStream = {
    name: target.streamId,
    streamId: target.streamId,
    require: target.require,
    fold: decider as StateFold<unknown, unknown>,
  };
  return {
    streams: [stream],
    decide: ([state], [version]) => {
      requireOf(stream, version);
      return [decisionOf(decider.decide(command, state), "decide()")];
    },
  };
}

function planMany<C extends { readonly type: string }, E>(
  // deno-lint-ignore no-explicit-any -- each definition's state type is its own
  definition: MultiStreamDefinition<C, any, E>,
  command: C,
): CommandPlan<E> {
  const { decider } = definition;
  const named = definition.streams(command) as Record<string, string | StreamTarget>;
  if (named === null || typeof named !== "object" || Array.isArray(named)) {
    throw new TypeError(
      `streams() must return an object naming each stream, got ${describe(named)}`,
    );
  }
  const streams: PlannedStream[] = [];
  const byStreamId = new Map<string, string>();
  for (const name of Object.keys(decider.states)) {
    if (!Object.hasOwn(named, name)) {
      throw new TypeError(
        `streams() named no stream for "${name}" (the decider's states are ${
          Object.keys(decider.states).join(", ")
        })`,
      );
    }
    const target = targetOf(named[name], `streams().${name}`);
    const other = byStreamId.get(target.streamId);
    if (other !== undefined) {
      throw new CommandRejectedError(
        `"${other}" and "${name}" are the same stream, ${target.streamId}`,
        {
          code: "same_stream",
          details: { streamId: target.streamId, names: [other, name] },
        },
      );
    }
    byStreamId.set(target.streamId, name);
    streams.push({
      name,
      streamId: target.streamId,
      require: target.require,
      fold: decider.states[name] as StateFold<unknown, unknown>,
    });
  }
  for (const name of Object.keys(named)) {
    if (!Object.hasOwn(decider.states, name)) {
      throw new TypeError(
        `streams() named "${name}", which the decider has no state for`,
      );
    }
  }
  return {
    streams,
    decide(states, versions) {
      const byName: Record<string, unknown> = {};
      streams.forEach((stream, i) => {
        requireOf(stream, versions[i]);
        byName[stream.name] = states[i];
      });
      const decided = decider.decide(command, byName) as Record<string, readonly E[]>;
      if (decided === null || typeof decided !== "object" || Array.isArray(decided)) {
        throw new TypeError(
          `decide() over named streams must return an object of events by name, got ${
            describe(decided)
          }`,
        );
      }
      for (const name of Object.keys(decided)) {
        if (!Object.hasOwn(decider.states, name)) {
          throw new TypeError(
            `decide() returned events for "${name}", which is not one of its streams`,
          );
        }
      }
      return streams.map(({ name }) =>
        decided[name] === undefined
          ? []
          : decisionOf(decided[name], `decide()'s "${name}"`)
      );
    },
  };
}

/** A stream target validated: its id, and a requirement that is one of the two. */
export function targetOf(target: string | StreamTarget, what: string): StreamTarget {
  if (typeof target === "string") {
    assertValidStreamId(target);
    return { streamId: target };
  }
  if (target === null || typeof target !== "object" || Array.isArray(target)) {
    throw new TypeError(
      `${what} must give a stream id or { streamId, require }, got ${describe(target)}`,
    );
  }
  assertValidStreamId(target.streamId);
  if (
    target.require !== undefined && target.require !== "exists" &&
    target.require !== "absent"
  ) {
    throw new TypeError(
      `${what}: require must be "exists" or "absent", got ${String(target.require)}`,
    );
  }
  return target;
}

/** Refuses a command whose stream is not what it requires. */
export function requireOf(
  stream: Pick<PlannedStream, "name" | "streamId" | "require">,
  version: number,
): void {
  if (stream.require === "exists" && version === 0) {
    throw new CommandRejectedError(`stream ${stream.streamId} does not exist`, {
      code: "stream_not_found",
      details: { stream: stream.name, streamId: stream.streamId },
    });
  }
  if (stream.require === "absent" && version > 0) {
    throw new CommandRejectedError(`stream ${stream.streamId} already exists`, {
      code: "stream_exists",
      details: { stream: stream.name, streamId: stream.streamId, version },
    });
  }
}

/** What `decide` returned, when it is the array of events it must be. */
export function decisionOf<E>(decided: readonly E[], what: string): readonly E[] {
  if (!Array.isArray(decided)) {
    throw new TypeError(
      `${what} must return an array of events (an empty one to decide nothing), got ${
        describe(decided)
      }`,
    );
  }
  return decided;
}

function describe(value: unknown): string {
  return value === null
    ? "null"
    : Array.isArray(value)
    ? "an array"
    : typeof value === "object"
    ? "an object"
    : typeof value;
}
