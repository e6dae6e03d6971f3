/**
 * A UDP socket bound to one target, as the UDP latency Worker uses it,
 * per engine:
 *
 * - "deno": `Deno.listenDatagram` (portable; needs `--unstable-net`).
 * - "ffi": a connected libc datagram socket through `Deno.dlopen`. Its
 *   `receive` waits on this thread's reactor (`ffi_reactor.ts`); the open
 *   loop instead polls it itself between sends (`tryReceive`, see
 *   `lib/udp/ffi_schedule.ts`), so a paced sender sleeps in `ppoll`
 *   instead of turning the event loop. Linux only.
 *
 * @module
 */
import { libc, LINUX, socketAddress } from "./libc.ts";
import { askForReceiveStamps, lengthOf, pendingError } from "./ffi_socket.ts";
import { StampedReader } from "./kernel_stamps.ts";
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

/**
 * An FFI datagram socket read without waiting, by a Worker that waits on
 * its sockets itself in one `ppoll` (the UDP open loop's synchronous pacer).
 */
export interface PolledDatagramSocket extends DatagramSocket {
  /** The descriptor to poll. */
  readonly descriptor: number;
  /**
   * The next datagram if one is there, else undefined (never waits); with
   * kernel timestamps, {@linkcode DatagramSocket.arrivalPerf} is its stamp.
   */
  tryReceive(buffer: Uint8Array): Uint8Array | undefined;
  /** Clears a pending ICMP error, which makes `ppoll` report the socket readable with nothing to read. */
  clearError(): void;
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
): PolledDatagramSocket {
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
  if (!askForReceiveStamps(fd)) {
    c.close(fd);
    throw new Error(
      `Cannot ask the kernel for receive timestamps on a UDP socket to ${ip}:${port}`,
    );
  }
  return new KernelTimedDatagram(fd);
}

class FfiDatagram extends ReactorSocket implements PolledDatagramSocket {
  get descriptor(): number {
    return this.fd;
  }

  tryReceive(buffer: Uint8Array): Uint8Array | undefined {
    if (this.closed) throw new PeerClosedError("socket closed");
    const n = this.read(buffer);
    return n >= 0 ? buffer.subarray(0, n) : undefined;
  }

  clearError(): void {
    pendingError(this.fd);
  }

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

/**
 * An FFI datagram socket that takes each datagram's arrival time from the
 * kernel (see `kernel_stamps.ts`), so the time a reply reached this host
 * leaves out how long this thread took to wake up and read it.
 */
class KernelTimedDatagram extends FfiDatagram {
  readonly #reader = new StampedReader();

  get arrivalPerf(): number | undefined {
    return this.#reader.arrivalPerf;
  }

  protected override read(buffer: Uint8Array): number {
    return this.#reader.read(this.fd, buffer, LINUX.MSG_DONTWAIT);
  }
}
