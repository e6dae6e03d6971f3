/**
 * Whether the kernel stamps packets as they arrive. It stamps them only
 * while some socket on the host has asked (SO_TIMESTAMPNS), and the first
 * socket to ask turns that on through deferred kernel work: until it has
 * run, a TCP segment arrives with no stamp and a datagram is given the
 * time it is read, which would pass for an arrival time. So a Worker that
 * reads stamps asks first, then proves the stamping live with a datagram
 * to itself on 127.0.0.1 before it measures.
 *
 * @module
 */
import { askForReceiveStamps } from "./ffi_socket.ts";
import { StampedReader } from "./kernel_stamps.ts";
import { libc, LINUX, socketAddress } from "./libc.ts";

/** How long a probe datagram waits before it is read: its stamp must be older than half this. */
const PROBE_WAIT_MS = 2;

/**
 * Resolves true once a datagram carries its arrival time rather than its
 * read time (at once on a host where stamping is already on), false when
 * that was not seen within `limitMs` or no probe socket could be had on
 * 127.0.0.1; the run then measures as before, and its summary counts the
 * replies that had no stamp. Call it after the measuring sockets asked
 * for stamps, so stamping stays on when the probe's socket closes.
 */
export async function untilArrivalsStamped(limitMs = 250): Promise<boolean> {
  const c = libc();
  const loopback = socketAddress("127.0.0.1", 0);
  const fd = c.socket(
    LINUX.AF_INET,
    LINUX.SOCK_DGRAM | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC,
    0,
  );
  if (fd < 0) return false;
  try {
    const self = new Uint8Array(loopback.bytes.length);
    const length = new Uint8Array(new Uint32Array([self.length]).buffer);
    if (
      c.bind(fd, loopback.bytes, loopback.bytes.length) !== 0 || !askForReceiveStamps(fd) ||
      c.getsockname(fd, self, length) !== 0 || c.connect(fd, self, self.length) !== 0
    ) return false;
    const reader = new StampedReader();
    const datagram = new Uint8Array(1);
    const startPerf = performance.now();
    while (performance.now() - startPerf < limitMs) {
      const sentPerf = performance.now();
      if (c.send(fd, datagram, 1n, LINUX.MSG_DONTWAIT) !== 1) return false;
      await new Promise((resolve) => setTimeout(resolve, PROBE_WAIT_MS));
      const read = reader.read(fd, datagram, LINUX.MSG_DONTWAIT);
      const readPerf = performance.now();
      const arrivalPerf = reader.arrivalPerf;
      if (read === 1 && arrivalPerf !== undefined && arrivalPerf < (sentPerf + readPerf) / 2) {
        return true;
      }
    }
    return false;
  } finally {
    c.close(fd);
  }
}
