/**
 * A non-blocking FFI socket with the `read`/`write`/`close` of a
 * `Deno.TcpConn`, waiting on this thread's {@linkcode FfiReactor}: for
 * Workers that keep many waits at once (the open loop), where the
 * blocking round trip of `ffi_socket.ts` does not fit.
 *
 * @module
 */
import { libc, LINUX } from "./libc.ts";
import { errorFromErrno, openSocket, pendingError, pollOne, setIntOption } from "./ffi_socket.ts";
import { ReactorSocket } from "./ffi_reactor.ts";
import { PeerClosedError, SocketError } from "../net_io.ts";

/** The part of `Deno.Conn` the open loop uses. */
export interface ByteStream {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Opens a connection to an IP address literal within `timeoutMs`, TCP_NODELAY on. */
export async function connectFfiStream(
  ip: string,
  port: number,
  timeoutMs: number,
  cancelled: () => boolean,
): Promise<FfiStream> {
  const fd = await openSocket(ip, port, timeoutMs, cancelled);
  setIntOption(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, 1);
  return new FfiStream(fd);
}

/** One connection, non-blocking, its waits on the reactor (or on its owner's `poll`). */
export class FfiStream extends ReactorSocket implements ByteStream {
  /** The descriptor, for an owner that polls it itself. */
  get descriptor(): number {
    return this.fd;
  }

  /** Reads what is there (at least a byte), or null at the end of the stream. */
  async read(buffer: Uint8Array): Promise<number | null> {
    for (let woken = false;; woken = true) {
      const n = this.tryRead(buffer, woken);
      if (n !== undefined) return n;
      await this.reactor.readable(this.fd);
    }
  }

  /**
   * Reads what is there without waiting: bytes read, null at the end of the
   * stream, undefined when nothing is there. `readable`: a poll said there
   * was something, so nothing means the socket has an error to tell.
   */
  tryRead(buffer: Uint8Array, readable: boolean): number | null | undefined {
    if (this.closed) throw new PeerClosedError("connection closed");
    const n = libc().recv(this.fd, buffer, BigInt(buffer.length), LINUX.MSG_DONTWAIT);
    if (n > 0) return n;
    if (n === 0) {
      // A reset leaves the socket hung up; a plain end of stream does not.
      if (pollOne(this.fd, LINUX.POLLIN, 0) & (LINUX.POLLHUP | LINUX.POLLERR)) {
        throw new SocketError("reset", "connection reset by the peer");
      }
      return null;
    }
    if (readable) this.#throwIfBroken("recv");
    return undefined;
  }

  /** Writes what fits (at least a byte). */
  async write(bytes: Uint8Array): Promise<number> {
    while (true) {
      const n = this.tryWrite(bytes);
      if (n > 0) return n;
      await this.reactor.writable(this.fd);
    }
  }

  /** Writes what fits now without waiting: the bytes taken, 0 when the send buffer is full. */
  tryWrite(bytes: Uint8Array): number {
    if (this.closed) throw new PeerClosedError("connection closed");
    const n = libc().send(
      this.fd,
      bytes,
      BigInt(bytes.length),
      LINUX.MSG_DONTWAIT | LINUX.MSG_NOSIGNAL,
    );
    if (n > 0) return n;
    this.#throwIfBroken("send");
    return 0;
  }

  #throwIfBroken(what: string): void {
    const revents = pollOne(this.fd, 0, 0);
    if (revents & (LINUX.POLLERR | LINUX.POLLHUP | LINUX.POLLNVAL)) {
      const error = pendingError(this.fd);
      throw error !== 0
        ? errorFromErrno(error, what)
        : new SocketError("reset", `${what}: connection reset`);
    }
  }
}
