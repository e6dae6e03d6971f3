/**
 * Picks the engine a Worker runs with by name.
 *
 * @module
 */
import { DENO_ENGINE } from "./deno_socket.ts";
import { connectFfi } from "./ffi_socket.ts";
import type { EngineName, SocketEngine } from "./socket_engine.ts";

/** The FFI engine: blocking libc calls on the Worker's thread. */
export const FFI_ENGINE: SocketEngine = {
  name: "ffi",
  blocking: true,
  connect: (host, port, timeoutMs, cancelled) => connectFfi(host, port, timeoutMs, cancelled),
};

/** The FFI engine reading in a spin (one busy core per Worker). */
export const BUSY_POLL_ENGINE: SocketEngine = {
  name: "busy-poll",
  blocking: true,
  connect: (host, port, timeoutMs, cancelled) =>
    connectFfi(host, port, timeoutMs, cancelled, { busyPoll: true }),
};

/** The engine of that name. */
export function engineNamed(name: EngineName): SocketEngine {
  return name === "deno" ? DENO_ENGINE : name === "ffi" ? FFI_ENGINE : BUSY_POLL_ENGINE;
}
