/**
 * The `--engine` and `--busy-poll` flags shared by `latency` and
 * `connect`, turned into an {@linkcode EngineName}.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { ENGINE_FLAG_VALUES, type EngineName } from "../engine/socket_engine.ts";

/** Pure: the engine named by `--engine` (and `--busy-poll`), checked against the platform. */
export function parseEngineFlags(
  engine: string | undefined,
  busyPoll: boolean | undefined,
  os: string = Deno.build.os,
): EngineName {
  if (engine !== undefined && !(ENGINE_FLAG_VALUES as readonly string[]).includes(engine)) {
    throw new UsageError(
      `Invalid --engine "${engine}": expected ${ENGINE_FLAG_VALUES.join(" or ")}`,
    );
  }
  if (busyPoll && engine === "deno") {
    throw new UsageError(`Option --busy-poll needs the FFI engine, not --engine "deno"`);
  }
  const name: EngineName = busyPoll ? "busy-poll" : engine === "ffi" ? "ffi" : "deno";
  if (name !== "deno" && os !== "linux") {
    throw new UsageError(
      `Option ${busyPoll ? "--busy-poll" : `--engine "ffi"`} runs on Linux only, not on "${os}"`,
    );
  }
  return name;
}

/** Help text of `--engine`. */
export const ENGINE_HELP =
  'socket engine: "deno" (portable) or "ffi" (libc through FFI, blocking calls on each Worker\'s thread; Linux, needs --allow-ffi) (default: "deno")';
