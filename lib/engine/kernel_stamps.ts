/**
 * Reads that also say when their data reached this host: `recvmsg` on a
 * socket that asked for SO_TIMESTAMPNS, the kernel's receive time of what
 * was read. A round trip that ends there leaves out how long the reading
 * thread took to wake up and run (25 µs at p50 on the development VM,
 * 2–3 µs of JavaScript after the wake-up on top). Linux only, FFI engine.
 *
 * For a datagram the stamp is the datagram's arrival. For a TCP stream
 * the kernel stamps the last segment a read consumed, so after the read
 * that completes an echo it is the arrival of the echo's last byte.
 *
 * `struct msghdr` (56 bytes: name, namelen, iov at 16, iovlen at 24,
 * control at 32, controllen at 40, flags) and `struct iovec` (base, len)
 * are laid out alike on x86-64 and arm64.
 *
 * The kernel stamps CLOCK_REALTIME; each stamp is moved onto
 * `performance.now()` by the two clocks' offset read right after the
 * `recvmsg`, so a step of the wall clock moves at most the reads across
 * it. A stamp in the future, or a missing one, leaves `arrivalPerf`
 * undefined, and the caller uses its own clock (and counts it). Stamps go
 * missing at first: the first socket on a host to ask turns stamping on
 * through deferred kernel work, and TCP data that arrived before it has
 * none (a datagram gets its read time instead): `stamping_probe.ts`
 * waits for it before a run measures.
 *
 * @module
 */
import { libc, LINUX } from "./libc.ts";

/** Room for one control message holding a `struct timespec` (CMSG_SPACE(16) = 32). */
const CONTROL_BYTES = 64n;

/**
 * `recvmsg` into one buffer at a time, keeping the kernel's receive time
 * of each read, on a socket that asked for it (`askForReceiveStamps` in
 * `ffi_socket.ts`).
 */
export class StampedReader {
  /** Buffers the kernel writes through (kept off V8's heap: more than 64 bytes each). */
  readonly #msghdr = new Uint8Array(128);
  readonly #iovec = new Uint8Array(128);
  readonly #control = new Uint8Array(128);
  readonly #timespec = new Uint8Array(128);
  readonly #header = new DataView(this.#msghdr.buffer);
  readonly #iovecView = new DataView(this.#iovec.buffer);
  readonly #controlView = new DataView(this.#control.buffer);
  readonly #clock = new DataView(this.#timespec.buffer);
  #iovecOf: Uint8Array | undefined;
  /**
   * When the data of the last successful {@linkcode read} reached this
   * host, on this thread's `performance.now()` clock; undefined when the
   * kernel gave no stamp, the stamp lies in the future, or the read failed.
   */
  arrivalPerf: number | undefined;

  constructor() {
    this.#header.setBigUint64(16, pointerOf(this.#iovec), true);
    this.#header.setBigUint64(24, 1n, true);
    this.#header.setBigUint64(32, pointerOf(this.#control), true);
  }

  /** One `recvmsg(fd, …, flags)` into `buffer`: the bytes read (0 at a stream's end), or -1. */
  read(fd: number, buffer: Uint8Array, flags: number): number {
    if (this.#iovecOf !== buffer) {
      this.#iovecView.setBigUint64(0, pointerOf(buffer), true);
      this.#iovecView.setBigUint64(8, BigInt(buffer.length), true);
      this.#iovecOf = buffer;
    }
    // recvmsg() shrinks msg_controllen to what it wrote: give the room back each time.
    this.#header.setBigUint64(40, CONTROL_BYTES, true);
    const n = libc().recvmsg(fd, this.#msghdr, flags);
    this.arrivalPerf = n >= 0 ? this.#arrival() : undefined;
    return n;
  }

  #arrival(): number | undefined {
    const control = this.#controlView;
    if (
      this.#header.getBigUint64(40, true) < 32n || control.getInt32(8, true) !== LINUX.SOL_SOCKET ||
      control.getInt32(12, true) !== LINUX.SO_TIMESTAMPNS
    ) return undefined;
    libc().clock_gettime(LINUX.CLOCK_REALTIME, this.#timespec);
    const nowPerf = performance.now();
    const clock = this.#clock;
    // The stamp's distance from now, in whole seconds and nanoseconds apart: a wall-clock time
    // in ms as one double would keep only a quarter of a µs.
    const agoMs = Number(clock.getBigInt64(0, true) - control.getBigInt64(16, true)) * 1e3 +
      (Number(clock.getBigInt64(8, true)) - Number(control.getBigInt64(24, true))) / 1e6;
    return agoMs >= 0 ? nowPerf - agoMs : undefined;
  }
}

/** The address of a buffer's first byte, for a struct that points at it. */
function pointerOf(buffer: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}
