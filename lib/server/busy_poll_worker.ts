/**
 * One connection of `serve --busy-poll`: reads with `MSG_DONTWAIT` in a
 * spin and writes back what came, until the peer closes, the connection
 * fails, or the main thread sets the shared stop flag. Uses a full core.
 *
 * Started by `lib/server/busy_poll_echo.ts` from its module URL, so
 * `deno compile --include lib/server/busy_poll_worker.ts` can embed it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { libc, LINUX, timeval } from "../engine/libc.ts";
import { pollOne, setIntOption, usize } from "../engine/ffi_socket.ts";
import type { FromBusyPollWorker, ToBusyPollWorker } from "../worker_protocol.ts";

/** Longest a send into a full buffer blocks before the stop flag is looked at again. */
const SEND_SLICE_MS = 50;
/** Spins between looks at the socket's health (a poll costs as much as a read). */
const CHECK_EVERY_SPINS = 4096;

self.onmessage = (event: MessageEvent<ToBusyPollWorker>) => {
  const { fd, stop, bufferBytes } = event.data;
  const c = libc();
  const slice = timeval(SEND_SLICE_MS);
  c.setsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_SNDTIMEO, slice, slice.length);
  setIntOption(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, 1);
  const buffer = new Uint8Array(bufferBytes);
  const length = BigInt(buffer.length);
  let echoed = 0;
  let spins = 0;
  // The echo is this loop; nothing else runs on this thread until it ends.
  spin: while (Atomics.load(stop, 0) === 0) {
    const n = c.recv(fd, buffer, length, LINUX.MSG_DONTWAIT);
    if (n > 0) {
      let sent = 0;
      while (sent < n) {
        // The whole read goes out from the buffer itself: no view made per echo.
        const m = sent === 0
          ? c.send(fd, buffer, usize(n), LINUX.MSG_NOSIGNAL)
          : c.send(fd, buffer.subarray(sent, n), BigInt(n - sent), LINUX.MSG_NOSIGNAL);
        if (m > 0) {
          sent += m;
          continue;
        }
        // A full send buffer waits a slice (SO_SNDTIMEO); a failed socket or a stop ends it.
        const revents = pollOne(fd, 0, 0);
        if (revents & (LINUX.POLLERR | LINUX.POLLHUP | LINUX.POLLNVAL)) break spin;
        if (Atomics.load(stop, 0) !== 0) break spin;
      }
      echoed += n;
      continue;
    }
    if (n === 0) break;
    if (++spins % CHECK_EVERY_SPINS === 0) {
      const revents = pollOne(fd, 0, 0);
      if (revents & (LINUX.POLLERR | LINUX.POLLHUP | LINUX.POLLNVAL)) break;
    }
  }
  c.close(fd);
  const done: FromBusyPollWorker = { type: "closed", bytesEchoed: echoed };
  self.postMessage(done);
};
