/**
 * The FFI socket engine (Linux): a TCP connection driven with libc's
 * `socket`/`connect`/`send`/`recv`/`poll` through `Deno.dlopen`, blocking
 * calls on the calling Worker's own thread, so a round trip costs two
 * system calls and no trip through the runtime's event loop.
 *
 * What keeps it honest and stoppable:
 * - No call blocks for long: sockets carry SO_RCVTIMEO/SO_SNDTIMEO of one
 *   {@linkcode FfiConn.sliceMs} (a tenth of the time limit, at most 50 ms),
 *   and a connect waits in `poll` for the same slice. When a slice runs out
 *   the round trip yields to the event loop, so "stop" messages, flush
 *   timers and `close()` get their turn; the time limit is checked there,
 *   so a timeout fires between 1 and 1.1 times the limit, as with the
 *   default engine's watchdog.
 * - Callers run one round trip at a time per thread and yield between
 *   round trips now and then (`thread_turns.ts`).
 * - errno read from JavaScript is not reliable (the runtime may overwrite
 *   it between the failed call and the read), so failures are told from
 *   what the socket says: `poll` revents, `getsockopt(SO_ERROR)` and a
 *   0-byte read. errno is used only as a hint for a connect that failed at
 *   once, and only when its value is one connect can return.
 *
 * @module
 */
import { PastDeadlineError, PeerClosedError, SocketError, TimeoutError } from "../net_io.ts";
import { StampedReader } from "./kernel_stamps.ts";
import { libc, LINUX, socketAddress, timeval } from "./libc.ts";
import { nowPerf } from "./monotonic_clock.ts";
import type { StreamConn } from "./socket_engine.ts";
import { yieldIfDue, yieldNow } from "./thread_turns.ts";

/** Longest a single blocking call may wait before the loop checks its limits. */
const MAX_SLICE_MS = 50;

const pollFd = new Uint8Array(8);
const pollView = new DataView(pollFd.buffer);
const intBuffer = new Uint8Array(4);
const intLength = new Uint8Array(4);

/** `poll` on one descriptor; the revents, 0 when the time ran out. */
export function pollOne(fd: number, events: number, timeoutMs: number): number {
  pollView.setInt32(0, fd, true);
  pollView.setInt16(4, events, true);
  pollView.setInt16(6, 0, true);
  const n = libc().poll(pollFd, 1n, Math.max(0, Math.ceil(timeoutMs)));
  return n > 0 ? pollView.getInt16(6, true) : 0;
}

/** The pending error of a socket (SO_ERROR, which reading clears), 0 for none. */
export function pendingError(fd: number): number {
  new DataView(intLength.buffer).setUint32(0, 4, true);
  intBuffer.fill(0);
  libc().getsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_ERROR, intBuffer, intLength);
  return new DataView(intBuffer.buffer).getInt32(0, true);
}

/** Sets an `int` socket option; setsockopt's result (0, or -1 when it failed). */
export function setIntOption(fd: number, level: number, name: number, value: number): number {
  new DataView(intBuffer.buffer).setInt32(0, value, true);
  return libc().setsockopt(fd, level, name, intBuffer, 4);
}

/** Asks the kernel to stamp what `fd` receives (see `kernel_stamps.ts`); false when it refused. */
export function askForReceiveStamps(fd: number): boolean {
  return setIntOption(fd, LINUX.SOL_SOCKET, LINUX.SO_TIMESTAMPNS, 1) === 0;
}

/** Names an errno value a socket reported. */
export function errorFromErrno(errno: number, what: string): SocketError {
  switch (errno) {
    case LINUX.ECONNREFUSED:
      return new SocketError("refused", `${what}: connection refused`);
    case LINUX.ECONNRESET:
    case LINUX.EPIPE:
    case LINUX.ECONNABORTED:
      return new SocketError("reset", `${what}: connection reset`);
    case LINUX.ETIMEDOUT:
      return new SocketError("timeout", `${what}: timed out`);
    case LINUX.ENETUNREACH:
    case LINUX.EHOSTUNREACH:
    case LINUX.EADDRNOTAVAIL:
      return new SocketError("unreachable", `${what}: host unreachable`);
    default:
      return new SocketError("other", `${what}: failed (errno ${errno})`);
  }
}

/** errno values connect() can return, the only ones trusted as a hint. */
const CONNECT_ERRNOS = new Set<number>([
  LINUX.ECONNREFUSED,
  LINUX.ENETUNREACH,
  LINUX.EHOSTUNREACH,
  LINUX.EADDRNOTAVAIL,
  LINUX.ETIMEDOUT,
  LINUX.ECONNRESET,
]);

/** This thread's errno, once found (null: libc gave no address). */
let errnoView: Deno.UnsafePointerView | null | undefined;

function readErrno(): number {
  // errno's address is fixed for the life of a thread: find it once per thread.
  if (errnoView === undefined) {
    const pointer = libc().__errno_location();
    errnoView = pointer === null ? null : new Deno.UnsafePointerView(pointer);
  }
  return errnoView === null ? 0 : errnoView.getInt32();
}

/**
 * Opens a TCP connection to an IP address literal, giving up after
 * `timeoutMs`; yields to the event loop while it waits, and gives up early
 * when `cancelled()` turns true. Resolves with the descriptor, still
 * non-blocking.
 */
export async function openSocket(
  ip: string,
  port: number,
  timeoutMs: number,
  cancelled: () => boolean,
): Promise<number> {
  const started = startConnect(ip, port);
  if (started.connected) return started.fd;
  return await finishConnect(started, timeoutMs, cancelled);
}

/** A connect begun: done within the call (loopback), or in progress, or failed at once. */
interface StartedConnect {
  fd: number;
  connected: boolean;
  /** errno read right after connect() returned -1: a hint only (see the module doc). */
  hint: number;
  /** performance.now() before the socket was opened: the time limit counts from here. */
  startPerf: number;
}

/**
 * Opens a socket and calls connect(); throws when no socket can be had.
 * Non-blocking by default (connect() returns at once, "in progress" even on
 * loopback). Given `blockingSliceMs`, the socket blocks and connect() waits
 * up to that long (SO_SNDTIMEO), then returns "in progress" as the other
 * would: no poll() when the connect is done within the slice.
 */
function startConnect(
  ip: string,
  port: number,
  blockingSliceMs?: number,
  startPerf = performance.now(),
): StartedConnect {
  const c = libc();
  const address = addressOf(ip, port);
  const blocking = blockingSliceMs !== undefined;
  const fd = c.socket(
    address.family,
    LINUX.SOCK_STREAM | LINUX.SOCK_CLOEXEC | (blocking ? 0 : LINUX.SOCK_NONBLOCK),
    0,
  );
  if (fd < 0) throw errorFromErrno(readErrno(), "Cannot open a socket");
  if (blocking) {
    const slice = sendTimeout(blockingSliceMs);
    c.setsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_SNDTIMEO, slice, slice.length);
  }
  // On loopback a connect completes (or is refused) within the call.
  if (c.connect(fd, address.bytes, address.bytes.length) === 0) {
    return { fd, connected: true, hint: 0, startPerf };
  }
  return { fd, connected: false, hint: readErrno(), startPerf };
}

let lastSendTimeout: { ms: number; timeval: Uint8Array } | undefined;

/** The SO_SNDTIMEO value for `ms`, made once for a run's slice. */
function sendTimeout(ms: number): Uint8Array {
  if (lastSendTimeout?.ms !== ms) lastSendTimeout = { ms, timeval: timeval(ms) };
  return lastSendTimeout.timeval;
}

/**
 * One poll of up to `waitMs` on a connect in progress: true when
 * established, false when still in progress; throws (and closes) when it failed.
 */
function settleConnect({ fd, hint }: StartedConnect, waitMs: number): boolean {
  const revents = pollOne(fd, LINUX.POLLOUT, waitMs);
  let error: number;
  if (revents & (LINUX.POLLERR | LINUX.POLLHUP)) {
    // A connect that failed at once left no pending error: fall back on its errno.
    const pending = pendingError(fd);
    error = pending !== 0 ? pending : CONNECT_ERRNOS.has(hint) ? hint : 0;
  } else if (revents & LINUX.POLLOUT) {
    // Writable with no error or hang-up: established (a failed connect sets POLLERR).
    return true;
  } else {
    return false;
  }
  libc().close(fd);
  throw errorFromErrno(error, "connect");
}

/** Waits in poll, a slice at a time, until the connect is established or failed. */
async function finishConnect(
  started: StartedConnect,
  timeoutMs: number,
  cancelled: () => boolean,
): Promise<number> {
  const { startPerf } = started;
  const sliceMs = sliceOf(timeoutMs);
  while (true) {
    const leftMs = timeoutMs - (performance.now() - startPerf);
    if (settleConnect(started, Math.min(sliceMs, Math.max(0, leftMs)))) return started.fd;
    if (performance.now() - startPerf >= timeoutMs || cancelled()) {
      libc().close(started.fd);
      throw new TimeoutError(cancelled() ? "stopped" : `no answer within ${timeoutMs} ms`);
    }
    await yieldNow();
    if (cancelled()) {
      libc().close(started.fd);
      throw new TimeoutError("stopped");
    }
  }
}

let lastLength = -1;
let lastLengthBig = 0n;

/** A length as the bigint a `usize` parameter takes, without a new bigint per call. */
export function usize(length: number): bigint {
  if (length !== lastLength) {
    lastLength = length;
    lastLengthBig = BigInt(length);
  }
  return lastLengthBig;
}

/** A buffer's length as a `usize` (see {@linkcode usize}). */
export function lengthOf(buffer: Uint8Array): bigint {
  return usize(buffer.length);
}

let lastAddress: { ip: string; port: number; address: ReturnType<typeof socketAddress> } | null =
  null;

/** The socket address of the last target, built once: a connect loop asks for the same one. */
function addressOf(ip: string, port: number): ReturnType<typeof socketAddress> {
  if (lastAddress?.ip !== ip || lastAddress.port !== port) {
    lastAddress = { ip, port, address: socketAddress(ip, port) };
  }
  return lastAddress.address;
}

function sliceOf(timeoutMs: number): number {
  return Math.max(1, Math.min(MAX_SLICE_MS, timeoutMs / 10));
}

/**
 * Opens a TCP connection with TCP_NODELAY to an IP address literal within
 * `timeoutMs` (see {@linkcode openSocket}).
 */
export async function connectFfi(
  ip: string,
  port: number,
  timeoutMs: number,
  cancelled: () => boolean = () => false,
  options: FfiConnOptions = {},
): Promise<FfiConn> {
  const fd = await openSocket(ip, port, timeoutMs, cancelled);
  if (options.kernelTimestamps && !askForReceiveStamps(fd)) {
    libc().close(fd);
    throw new Error(
      `Cannot ask the kernel for receive timestamps on a connection to ${ip}:${port}`,
    );
  }
  return new FfiConn(fd, sliceOf(timeoutMs), options);
}

/** How an {@linkcode FfiConn} reads. */
export interface FfiConnOptions {
  /** Read with `MSG_DONTWAIT` in a spin instead of blocking. */
  busyPoll?: boolean;
  /**
   * Read with `recvmsg` and keep the kernel's receive time of each echo
   * (see {@linkcode FfiConn.arrivalPerf}); the socket must have asked for
   * it (`askForReceiveStamps`).
   */
  kernelTimestamps?: boolean;
}

/**
 * What `connect --engine ffi` times: open a connection and close it
 * again, with no options set in between but the connect's own time limit.
 * Returns the clock reading (`nowPerf()`) at which the connection was
 * established, taken before `close()` so that the set-up time leaves the
 * close out as the default engine's does; a promise of it when the connect
 * is in progress or the thread is due to yield.
 */
export function openAndCloseFfi(
  ip: string,
  port: number,
  timeoutMs: number,
  cancelled: () => boolean,
  /** The caller's clock reading at the start: a second reading would be inside its timing. */
  startPerf?: number,
): number | Promise<number> {
  const c = libc();
  // A blocking connect of at most a slice: on loopback it is done within the call, where a
  // non-blocking one says "in progress" and costs a poll() more (34,700-38,800 connections/s
  // against 32,600-34,000 in a bare loop). A refusal or a slice run out: poll tells which.
  const started = startConnect(ip, port, sliceOf(timeoutMs), startPerf);
  if (started.connected || settleConnect(started, 0)) {
    const establishedPerf = nowPerf();
    c.close(started.fd);
    const pending = yieldIfDue();
    return pending ? pending.then(() => establishedPerf) : establishedPerf;
  }
  // In progress or failed: poll tells which, and waits when it must.
  return (async () => {
    const fd = await finishConnect(started, timeoutMs, cancelled);
    const establishedPerf = nowPerf();
    c.close(fd);
    const pending = yieldIfDue();
    if (pending) await pending;
    return establishedPerf;
  })();
}

/** One connected socket of the FFI engine. */
export class FfiConn implements StreamConn {
  #fd: number;
  #closed = false;
  readonly sliceMs: number;
  readonly #busyPoll: boolean;
  readonly #stamped: StampedReader | undefined;

  constructor(fd: number, sliceMs: number, options: FfiConnOptions = {}) {
    this.#fd = fd;
    this.sliceMs = sliceMs;
    this.#busyPoll = options.busyPoll === true;
    this.#stamped = options.kernelTimestamps ? new StampedReader() : undefined;
    const c = libc();
    setIntOption(fd, LINUX.IPPROTO_TCP, LINUX.TCP_NODELAY, 1);
    // Blocking from here on (busy polling asks for MSG_DONTWAIT per call),
    // each call bounded by one slice.
    const slice = timeval(sliceMs);
    c.setsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_RCVTIMEO, slice, slice.length);
    c.setsockopt(fd, LINUX.SOL_SOCKET, LINUX.SO_SNDTIMEO, slice, slice.length);
    clearNonBlocking(fd);
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * With kernel timestamps: when the last byte of the echo that ended the
   * last round trip reached this host (the kernel's receive time, on this
   * thread's `performance.now()` clock); undefined without them, or when
   * the kernel gave none.
   */
  get arrivalPerf(): number | undefined {
    return this.#stamped?.arrivalPerf;
  }

  /**
   * Sends `payload` whole, then reads exactly `received.length` bytes.
   * Returns undefined when done without yielding (the common case), or a
   * promise when it had to wait longer than a slice or yield.
   */
  roundTrip(
    payload: Uint8Array,
    received: Uint8Array,
    timeoutMs: number,
    deadlinePerf = Infinity,
    startPerf = performance.now(),
  ): void | Promise<void> {
    const sent = this.#sendSome(payload, 0);
    const got = sent === payload.length ? this.#recvSome(received, 0) : 0;
    if (sent === payload.length && got === received.length) return;
    return this.#finish(payload, sent, received, got, startPerf, timeoutMs, deadlinePerf);
  }

  async #finish(
    payload: Uint8Array,
    sent: number,
    received: Uint8Array,
    got: number,
    startPerf: number,
    timeoutMs: number,
    deadlinePerf: number,
  ): Promise<void> {
    while (sent < payload.length || got < received.length) {
      const now = performance.now();
      if (now - startPerf > timeoutMs) throw new TimeoutError(`no echo within ${timeoutMs} ms`);
      if (now > deadlinePerf) throw new PastDeadlineError("the measured phase ended");
      await yieldNow();
      if (this.#closed) throw new PeerClosedError("connection closed");
      if (sent < payload.length) sent = this.#sendSome(payload, sent);
      else got = this.#recvSome(received, got);
    }
  }

  /** Sends from `offset` on until done or a slice passed; returns the new offset. */
  #sendSome(payload: Uint8Array, offset: number): number {
    const c = libc();
    while (offset < payload.length) {
      const chunk = offset === 0 ? payload : payload.subarray(offset);
      const n = c.send(this.#fd, chunk, lengthOf(chunk), LINUX.MSG_NOSIGNAL);
      if (n > 0) {
        offset += n;
        continue;
      }
      this.#throwIfBroken("send");
      return offset;
    }
    return offset;
  }

  /** Reads into `buffer` from `offset` on until full or a slice passed; returns the new offset. */
  #recvSome(buffer: Uint8Array, offset: number): number {
    const c = libc();
    const flags = this.#busyPoll ? LINUX.MSG_DONTWAIT : 0;
    let spins = 0;
    let sliceEnd = 0;
    while (offset < buffer.length) {
      const chunk = offset === 0 ? buffer : buffer.subarray(offset);
      const n = this.#stamped
        ? this.#stamped.read(this.#fd, chunk, flags)
        : c.recv(this.#fd, chunk, lengthOf(chunk), flags);
      if (n > 0) {
        offset += n;
        continue;
      }
      if (n === 0) {
        // A 0-byte read is the end of the stream; a reset leaves the socket hung up too.
        const revents = pollOne(this.#fd, LINUX.POLLIN, 0);
        if (revents & (LINUX.POLLHUP | LINUX.POLLERR)) {
          throw new SocketError("reset", "connection reset by the peer");
        }
        throw new PeerClosedError("connection closed by the peer");
      }
      if (this.#busyPoll) {
        // Nothing yet: spin, but look at the clock and the socket's health now and then.
        if ((++spins & (BUSY_CHECK_EVERY_SPINS - 1)) !== 0) continue;
        this.#throwIfBroken("recv");
        const now = performance.now();
        if (sliceEnd === 0) sliceEnd = now + this.sliceMs;
        else if (now >= sliceEnd) return offset;
        continue;
      }
      this.#throwIfBroken("recv");
      return offset;
    }
    return offset;
  }

  /** After a call that moved nothing: throws if the socket failed, else it was a slice running out. */
  #throwIfBroken(what: string): void {
    const revents = pollOne(this.#fd, 0, 0);
    if (revents & (LINUX.POLLERR | LINUX.POLLHUP | LINUX.POLLNVAL)) {
      const error = pendingError(this.#fd);
      if (error !== 0) throw errorFromErrno(error, what);
      throw new SocketError("reset", `${what}: connection reset`);
    }
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
  }
}

/** Back to blocking mode: the socket was opened non-blocking for its connect only. */
function clearNonBlocking(fd: number): void {
  const c = libc();
  const flags = c.fcntl(fd, F_GETFL, 0);
  if (flags >= 0) c.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

/**
 * Spins between looks at the clock and the socket's health while busy
 * polling (a power of two). A look costs a poll and a clock read, as much
 * as two spins; every 64 spins it fell inside one round trip in three.
 * 1,024 spins are about 0.4 ms, far inside any slice.
 */
const BUSY_CHECK_EVERY_SPINS = 1024;

const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
