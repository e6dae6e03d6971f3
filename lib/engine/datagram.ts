/**
 * A UDP socket bound to one target, as the UDP latency Worker uses it,
 * per engine:
 *
 * - "deno": `Deno.listenDatagram` (portable; needs `--unstable-net`).
 * - "ffi": a connected libc datagram socket through `Deno.dlopen`, its
 *   waits on this thread's {@linkcode FfiReactor}, so a paced sender
 *   sleeps in `ppoll` between sends instead of turning the event loop
 *   (see `ffi_reactor.ts`). Linux only.
 *
 * @module
 */
import { libc, LINUX, socketAddress } from "./libc.ts";
import { lengthOf, pendingError, setIntOption } from "./ffi_socket.ts";
import { ReactorSocket } from "./ffi_reactor.ts";
import { PeerClosedError } from "../net_io.ts";

/** One UDP socket that talks to one target. */
export interface DatagramSocket {
  /** Sends one datagram; a datagram the kernel refuses is dropped like a lost one. */
  send(datagram: Uint8Array): void | Promise<unknown>;
  /** The next datagram, read into `buffer`; rejects once the socket is closed. */
  receive(buffer: Uint8Array): Promise<Uint8Array>;
  /**
   * When the datagram {@linkcode receive} returned last reached this host,
   * on this thread's `performance.now()` clock, from the kernel's
   * timestamp; undefined when the socket does not ask for one or the
   * kernel gave none.
   */
  readonly arrivalPerf?: number;
  /** Closes the socket; a receive in progress rejects. Safe to call twice. */
  close(): void;
}

/** A UDP socket of the default engine, sending to `ip:port`. */
export function denoDatagram(host: string, port: number): DatagramSocket {
  const target: Deno.NetAddr = { transport: "udp", hostname: host, port };
  const socket = Deno.listenDatagram({
    hostname: host.includes(":") ? "::" : "0.0.0.0",
    port: 0,
    transport: "udp",
  });
  let closed = false;
  return {
    send: (datagram) => socket.send(datagram, target),
    receive: async (buffer) => (await socket.receive(buffer))[0],
    close: () => {
      if (closed) return;
      closed = true;
      socket.close();
    },
  };
}

/**
 * A connected UDP socket of the FFI engine to an IP address literal.
 * Connected, so the kernel drops datagrams from anyone else and an ICMP
 * "port unreachable" shows as a pending error, which a receive clears and
 * skips (as the default engine's receive loop does).
 */
export function ffiDatagram(
  ip: string,
  port: number,
  options: {
    /** Ask the kernel for each datagram's arrival time (see {@linkcode KernelTimedDatagram}). */
    kernelTimestamps?: boolean;
  } = {},
): DatagramSocket {
  const c = libc();
  const address = socketAddress(ip, port);
  const fd = c.socket(
    address.family,
    LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) throw new Error(`Cannot open a UDP socket to ${ip}:${port}`);
  if (c.connect(fd, address.bytes, address.bytes.length) !== 0) {
    c.close(fd);
    throw new Error(`Cannot open a UDP socket to ${ip}:${port}`);
  }
  if (!options.kernelTimestamps) return new FfiDatagram(fd);
  if (setIntOption(fd, LINUX.SOL_SOCKET, LINUX.SO_TIMESTAMPNS, 1) !== 0) {
    c.close(fd);
    throw new Error(
      `Cannot ask the kernel for receive timestamps on a UDP socket to ${ip}:${port}`,
    );
  }
  return new KernelTimedDatagram(fd);
}

class FfiDatagram extends ReactorSocket implements DatagramSocket {
  send(datagram: Uint8Array): void {
    if (this.closed) throw new PeerClosedError("socket closed");
    // Never blocks: a full send buffer drops the datagram, which then counts as lost.
    libc().send(this.fd, datagram, lengthOf(datagram), LINUX.MSG_DONTWAIT);
  }

  async receive(buffer: Uint8Array): Promise<Uint8Array> {
    let woken = false;
    while (true) {
      if (this.closed) throw new PeerClosedError("socket closed");
      const n = this.read(buffer);
      if (n >= 0) return buffer.subarray(0, n);
      // Woken for nothing: an ICMP error, which the failed call has cleared; make sure it is
      // gone, or the reactor would wake this wait again at once.
      if (woken) pendingError(this.fd);
      await this.reactor.readable(this.fd);
      woken = true;
    }
  }

  /** One non-blocking read: the datagram's length, or -1 when none is there. */
  protected read(buffer: Uint8Array): number {
    return libc().recv(this.fd, buffer, lengthOf(buffer), LINUX.MSG_DONTWAIT);
  }
}

/** Room for one control message holding a `struct timespec` (CMSG_SPACE(16) = 32). */
const CONTROL_BYTES = 64n;

/**
 * An FFI datagram socket that takes each datagram's arrival time from the
 * kernel (SO_TIMESTAMPNS, read with `recvmsg`), so the time a reply
 * reached this host leaves out how long this thread took to wake up and
 * read it (25 µs at p50 on the development VM).
 *
 * `struct msghdr` (56 bytes: name, namelen, iov at 16, iovlen at 24,
 * control at 32, controllen at 40, flags) and `struct iovec` (base, len)
 * are laid out alike on x86-64 and arm64.
 *
 * The kernel stamps CLOCK_REALTIME; each stamp is moved onto
 * `performance.now()` by the two clocks' offset read right after the
 * `recvmsg`, so a step of the wall clock moves at most the datagrams read
 * across it. A stamp that lands in the future, or that is missing, leaves
 * `arrivalPerf` undefined, and the caller uses its own clock.
 */
class KernelTimedDatagram extends FfiDatagram {
  /** Buffers the kernel writes through (kept off V8's heap: more than 64 bytes each). */
  readonly #msghdr = new Uint8Array(128);
  readonly #iovec = new Uint8Array(128);
  readonly #control = new Uint8Array(128);
  readonly #timespec = new Uint8Array(128);
  readonly #header = new DataView(this.#msghdr.buffer);
  readonly #controlView = new DataView(this.#control.buffer);
  readonly #clock = new DataView(this.#timespec.buffer);
  #iovecOf: Uint8Array | undefined;
  arrivalPerf: number | undefined;

  constructor(fd: number) {
    super(fd);
    this.#header.setBigUint64(16, pointerOf(this.#iovec), true);
    this.#header.setBigUint64(24, 1n, true);
    this.#header.setBigUint64(32, pointerOf(this.#control), true);
  }

  protected override read(buffer: Uint8Array): number {
    if (this.#iovecOf !== buffer) {
      const iovec = new DataView(this.#iovec.buffer);
      iovec.setBigUint64(0, pointerOf(buffer), true);
      iovec.setBigUint64(8, BigInt(buffer.length), true);
      this.#iovecOf = buffer;
    }
    // recvmsg() shrinks msg_controllen to what it wrote: give the room back each time.
    this.#header.setBigUint64(40, CONTROL_BYTES, true);
    const n = libc().recvmsg(this.fd, this.#msghdr, LINUX.MSG_DONTWAIT);
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
