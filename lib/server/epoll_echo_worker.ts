/**
 * One thread of `serve --engine ffi`: a TCP echo driven by libc's epoll
 * through FFI, as a C epoll server is. It blocks in `epoll_wait` (never
 * longer than {@linkcode WAIT_MS}, so the stop flag is seen), accepts from
 * the shared listener, and answers each readable connection with one
 * `recv` into the thread's buffer and a `send` of what came.
 *
 * Memory stays bounded as in the default engine's echo: reads go into one
 * buffer per thread, and a connection keeps bytes of its own only when its
 * peer does not read its echo (at most one read's worth, `bufferBytes`);
 * until they are sent it is not read from, so the kernel's buffers push
 * back on the peer. Connection limits are the server-wide shared counts
 * (`connection_slots.ts`), and a connection that makes no progress for
 * `idleTimeoutMs` is closed.
 *
 * Started by `lib/server/epoll_echo.ts` from its module URL, so
 * `deno compile --include lib/server/epoll_echo_worker.ts` can embed it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { EPOLL_DATA_OFFSET, EPOLL_EVENT_BYTES, ipOfAddress, libc, LINUX } from "../engine/libc.ts";
import { setIntOption, usize } from "../engine/ffi_socket.ts";
import { ConnectionSlots, type Slot } from "./connection_slots.ts";
import { type ServiceTotals, zeroServiceTotals } from "./tcp_services.ts";
import type { FromEpollWorker, ToEpollWorker } from "../worker_protocol.ts";

/** Longest wait in `epoll_wait` before the stop flag and the idle sweep are looked at. */
const WAIT_MS = 100;
/** Events taken per `epoll_wait`. */
const MAX_EVENTS = 256;
/**
 * How long the listener is left out of the wait after it said a connection
 * was there and none could be accepted twice running: out of descriptors
 * (EMFILE), the queue stays readable and the wait would return at once,
 * forever, until one frees (errno is not read from JavaScript: see
 * `libc.ts`). Another thread taking the connection first looks alike, once.
 */
const ACCEPT_BACKOFF_MS = 50;

/** An admitted connection. */
interface Conn {
  fd: number;
  slot: Slot;
  /** Value of the coarse clock (`tick`) at the last progress. */
  lastActivityTick: number;
  /** Echo bytes the peer has not taken yet; reading waits until they are sent. */
  unsent: Uint8Array | null;
}

self.onmessage = (event: MessageEvent<ToEpollWorker>) => {
  const totals = serve(event.data);
  const done: FromEpollWorker = { type: "stopped", totals };
  self.postMessage(done);
};

function serve(job: ToEpollWorker): ServiceTotals {
  const c = libc();
  const totals = zeroServiceTotals();
  const slots = new ConnectionSlots(job.slots, job.limits);
  const conns = new Map<number, Conn>();
  const buffer = new Uint8Array(job.bufferBytes);
  const bufferLength = BigInt(buffer.length);
  const events = new Uint8Array(EPOLL_EVENT_BYTES * MAX_EVENTS);
  const eventsView = new DataView(events.buffer);
  const control = new Uint8Array(16);
  const controlView = new DataView(control.buffer);
  const peer = new Uint8Array(28);
  const peerLength = new Uint8Array(4);
  const peerLengthView = new DataView(peerLength.buffer);
  const epfd = c.epoll_create1(LINUX.EPOLL_CLOEXEC);
  if (epfd < 0) throw new Error("Cannot create an epoll set for the echo");

  /** Adds, changes or removes `fd`'s interest (the event's data is the descriptor). */
  const watch = (op: number, fd: number, interest: number) => {
    controlView.setUint32(0, interest, true);
    // The data is a u64; a descriptor fits its low half, written without a bigint.
    controlView.setUint32(EPOLL_DATA_OFFSET, fd, true);
    controlView.setUint32(EPOLL_DATA_OFFSET + 4, 0, true);
    return c.epoll_ctl(epfd, op, fd, control);
  };
  const close = (conn: Conn) => {
    conns.delete(conn.fd);
    watch(LINUX.EPOLL_CTL_DEL, conn.fd, 0);
    c.close(conn.fd);
    slots.release(conn.slot);
  };

  // Time is kept coarsely, as the default engine's echo keeps it: a tick per sweep.
  let tick = 0;
  const sweepEveryMs = job.idleTimeoutMs > 0
    ? Math.max(WAIT_MS, Math.min(1000, job.idleTimeoutMs / 4))
    : Infinity;
  const idleTicks = Math.ceil(job.idleTimeoutMs / sweepEveryMs);
  let nextSweepPerf = performance.now() + sweepEveryMs;
  const sweep = () => {
    tick++;
    for (const conn of conns.values()) {
      // A peer that does not take its echo is making no progress either.
      if (tick - conn.lastActivityTick > idleTicks) {
        totals.idleClosed++;
        close(conn);
      }
    }
  };

  let emptyAccepts = 0;
  let listenerBackPerf = 0;
  const listen = () =>
    // Exclusive: a connection wakes one thread's wait, not every thread's.
    watch(LINUX.EPOLL_CTL_ADD, job.listenerFd, LINUX.EPOLLIN | LINUX.EPOLLEXCLUSIVE);
  const accept = () => {
    for (let accepted = 0;; accepted++) {
      const fd = c.accept4(job.listenerFd, null, null, LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC);
      // Nothing left (another thread may have taken it), a connection reset before it was
      // accepted, or no descriptor free: all are -1.
      if (fd < 0) {
        emptyAccepts = accepted === 0 ? emptyAccepts + 1 : 0;
        if (emptyAccepts >= 2) {
          watch(LINUX.EPOLL_CTL_DEL, job.listenerFd, 0);
          listenerBackPerf = performance.now() + ACCEPT_BACKOFF_MS;
          emptyAccepts = 0;
        }
        return;
      }
      peerLengthView.setUint32(0, peer.length, true);
      const address = c.getpeername(fd, peer, peerLength) === 0 ? ipOfAddress(peer) : "";
      const admitted = slots.tryOpen(address);
      if (!admitted.ok) {
        totals.refused++;
        if (admitted.reason === "client-full") totals.refusedPerClient++;
        c.close(fd);
        continue;
      }
      setIntOption(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, 1);
      const conn: Conn = { fd, slot: admitted.slot, lastActivityTick: tick, unsent: null };
      if (watch(LINUX.EPOLL_CTL_ADD, fd, LINUX.EPOLLIN) !== 0) {
        c.close(fd);
        slots.release(admitted.slot);
        continue;
      }
      conns.set(fd, conn);
      totals.connections++;
    }
  };

  /** Sends `bytes` as far as the peer takes them; returns how many went. */
  const sendSome = (fd: number, bytes: Uint8Array, length: number): number => {
    const n = c.send(fd, bytes, usize(length), LINUX.MSG_NOSIGNAL | LINUX.MSG_DONTWAIT);
    return n > 0 ? n : 0;
  };

  const readable = (conn: Conn, ready: number) => {
    const n = c.recv(conn.fd, buffer, bufferLength, LINUX.MSG_DONTWAIT);
    if (n <= 0) {
      // 0: the peer closed. -1 with an error or hang-up reported: the connection failed.
      // Otherwise nothing was there after all.
      if (n === 0 || ready & (LINUX.EPOLLERR | LINUX.EPOLLHUP)) close(conn);
      return;
    }
    totals.bytesReceived += n;
    conn.lastActivityTick = tick;
    const sent = sendSome(conn.fd, buffer, n);
    totals.bytesSent += sent;
    if (sent < n) {
      // The peer is not reading: keep the rest, stop reading, and wait until it can be sent.
      conn.unsent = buffer.slice(sent, n);
      watch(LINUX.EPOLL_CTL_MOD, conn.fd, LINUX.EPOLLOUT);
    }
  };

  const writable = (conn: Conn, ready: number) => {
    const unsent = conn.unsent;
    if (unsent === null) return;
    const sent = sendSome(conn.fd, unsent, unsent.length);
    totals.bytesSent += sent;
    if (sent > 0) conn.lastActivityTick = tick;
    if (sent === unsent.length) {
      conn.unsent = null;
      watch(LINUX.EPOLL_CTL_MOD, conn.fd, LINUX.EPOLLIN);
    } else if (sent > 0) {
      conn.unsent = unsent.subarray(sent);
    } else if (ready & (LINUX.EPOLLERR | LINUX.EPOLLHUP)) {
      close(conn);
    }
  };

  try {
    listen();
    while (Atomics.load(job.stop, 0) === 0) {
      const waitMs = listenerBackPerf === 0
        ? WAIT_MS
        : Math.max(0, Math.min(WAIT_MS, Math.ceil(listenerBackPerf - performance.now())));
      const n = c.epoll_wait(epfd, events, MAX_EVENTS, waitMs);
      if (listenerBackPerf !== 0 && performance.now() >= listenerBackPerf) {
        listenerBackPerf = 0;
        listen();
      }
      for (let i = 0; i < n; i++) {
        const at = i * EPOLL_EVENT_BYTES;
        const ready = eventsView.getUint32(at, true);
        // The low half of the data: a bigint per event would cost more than reading it.
        const fd = eventsView.getUint32(at + EPOLL_DATA_OFFSET, true);
        if (fd === job.listenerFd) {
          accept();
          continue;
        }
        const conn = conns.get(fd);
        if (conn === undefined) continue;
        if (conn.unsent === null) readable(conn, ready);
        else writable(conn, ready);
      }
      if (performance.now() >= nextSweepPerf) {
        nextSweepPerf += sweepEveryMs;
        sweep();
      }
    }
  } finally {
    for (const conn of [...conns.values()]) close(conn);
    c.close(epfd);
  }
  return totals;
}
