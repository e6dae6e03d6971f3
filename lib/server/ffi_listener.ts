/**
 * A listening TCP socket opened through libc (Linux, FFI), for the echoes
 * that serve their connections with libc calls: `serve --busy-poll` and
 * `serve --engine ffi`.
 *
 * @module
 */
import { libc, LINUX, portOfAddress, socketAddress } from "../engine/libc.ts";
import { setIntOption } from "../engine/ffi_socket.ts";
import { RunError } from "../errors.ts";
import { formatHostPort } from "../units.ts";

/**
 * Binds `host:port` (an IP address literal; port 0 lets the OS pick) and
 * listens, non-blocking; returns the descriptor and the port bound. Throws
 * RunError with one line when it cannot.
 */
export function listenFfi(
  host: string,
  port: number,
  backlog: number,
  what: string,
): { fd: number; port: number } {
  const c = libc();
  const address = socketAddress(host, port);
  const fd = c.socket(
    address.family,
    LINUX.SOCK_STREAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) throw new RunError(`Cannot open a socket for ${what}`);
  setIntOption(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEADDR, 1);
  if (c.bind(fd, address.bytes, address.bytes.length) !== 0 || c.listen(fd, backlog) !== 0) {
    c.close(fd);
    throw new RunError(
      `Cannot listen on "${
        formatHostPort({ host, port })
      }": the address is in use or not available`,
    );
  }
  const bound = new Uint8Array(address.bytes.length);
  const length = new Uint8Array(new Uint32Array([bound.length]).buffer);
  c.getsockname(fd, bound, length);
  return { fd, port: portOfAddress(bound) };
}
