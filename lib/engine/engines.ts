/**
 * Picks the engine a Worker runs with by name.
 *
 * @module
 */
import { DENO_ENGINE } from "./deno_socket.ts";
import { connectFfi } from "./ffi_socket.ts";
import type { EngineName, SocketEngine } from "./socket_engine.ts";

/**
 * The engine of that name: "ffi" makes blocking libc calls on the
 * Worker's thread, "busy-poll" reads in a spin (one busy core per Worker).
 * `kernelTimestamps` (FFI engines only) makes their connections keep each
 * echo's kernel receive time.
 */
export function engineNamed(
  name: EngineName,
  options: { kernelTimestamps?: boolean } = {},
): SocketEngine {
  if (name === "deno") return DENO_ENGINE;
  const ffiOptions = { busyPoll: name === "busy-poll", kernelTimestamps: options.kernelTimestamps };
  return {
    name,
    blocking: true,
    connect: (host, port, timeoutMs, cancelled) =>
      connectFfi(host, port, timeoutMs, cancelled, ffiOptions),
  };
}
