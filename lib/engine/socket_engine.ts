/**
 * How a measuring Worker talks to its peer: the engine. The latency and
 * connect Workers run one round-trip loop and one connect loop whatever the
 * engine; an engine only opens connections and moves one round trip's
 * bytes.
 *
 * - "deno": `Deno.connect` and async reads and writes (portable; what
 *   `deno compile` users on every OS get).
 * - "ffi": libc sockets through `Deno.dlopen`, blocking calls on the
 *   Worker's own thread (Linux only; see `ffi_socket.ts`).
 * - "busy-poll": the FFI engine reading with `MSG_DONTWAIT` in a spin, so
 *   no wake-up of a sleeping thread is measured; it keeps a core busy per
 *   Worker.
 *
 * @module
 */

/** The engines `--engine` and `--busy-poll` choose between. */
export type EngineName = "deno" | "ffi" | "busy-poll";

/** The engine names `--engine` accepts (`--busy-poll` picks "busy-poll"). */
export const ENGINE_FLAG_VALUES = ["deno", "ffi"] as const;

/** One open TCP connection of an engine. */
export interface StreamConn {
  /**
   * Writes `payload` whole, then reads exactly `received.length` bytes;
   * throws the errors of `lib/net_io.ts` (TimeoutError after `timeoutMs`,
   * PastDeadlineError when still waiting a moment after `deadlinePerf`, a
   * `performance.now()` time). Returns undefined when it finished without
   * waiting on the event loop, so a blocking engine pays for no promise per
   * round trip. `startPerf` is the caller's clock reading at the start, when
   * it has one: a second reading would be inside the caller's timing.
   */
  roundTrip(
    payload: Uint8Array,
    received: Uint8Array,
    timeoutMs: number,
    deadlinePerf: number,
    startPerf?: number,
  ): void | Promise<void>;
  /**
   * With kernel timestamps: when the echo that ended the last round trip
   * reached this host, on this thread's `performance.now()` clock;
   * undefined otherwise, or when the kernel gave no stamp.
   */
  readonly arrivalPerf?: number;
  /** Closes the connection; a round trip in progress fails. Safe to call twice. */
  close(): void;
}

/** Opens connections. */
export interface SocketEngine {
  readonly name: EngineName;
  /**
   * Its calls block the thread: a Worker runs one round trip at a time and
   * yields to its event loop between them now and then (`thread_turns.ts`).
   */
  readonly blocking: boolean;
  /**
   * Opens a TCP connection with TCP_NODELAY within `timeoutMs`. The FFI
   * engines want an IP address literal (resolve names first).
   */
  connect(
    host: string,
    port: number,
    timeoutMs: number,
    cancelled: () => boolean,
  ): Promise<StreamConn>;
}

/** Whether an engine needs the target as an IP address literal. */
export function needsAddress(engine: EngineName): boolean {
  return engine !== "deno";
}
