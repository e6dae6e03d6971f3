/**
 * A small event loop for FFI sockets, for Workers that wait on many things
 * at once (the open loop: replies on every connection and the next send
 * time). One `ppoll` blocks the thread until a socket is ready or the
 * earliest timer is near, with nanosecond timeouts and the thread's timer
 * slack lowered to 1 µs, then the last stretch before a timer (at least
 * {@linkcode SPIN_US}, more for a timer set far ahead) is spun out on the
 * clock. So a paced sender sleeps between sends instead
 * of spinning, and replies are read the moment they arrive. Between rounds
 * the reactor yields to the runtime's event loop, so messages, flush timers
 * and the watchdog keep running.
 *
 * @module
 */
import { libc, LINUX, lowerTimerSlack } from "./libc.ts";
import { yieldIfDue, yieldNow } from "./thread_turns.ts";
import { PeerClosedError } from "../net_io.ts";

/** The last stretch before a timer that is spun rather than slept (wake-ups are late by about this). */
export const SPIN_US = 50;
/**
 * A timer set further ahead spins a longer stretch, this share of its
 * wait, up to {@linkcode MAX_SPIN_US}: wake-ups after a long sleep are later
 * and vary more, and the spin costs this share of a core at most (at 10
 * messages/s, a 500 µs spin is 0.5% of a core).
 */
const SPIN_SHARE = 0.01;
const MAX_SPIN_US = 500;
/** Longest single block, so the runtime's own timers and messages get their turn. */
const MAX_BLOCK_MS = 20;
/**
 * A block that would end further than this from the next timer ends this
 * far before it instead, and a second, short block follows. A long sleep
 * wakes late: the kernel lets a `poll` timeout slip by 0.1% of its length
 * whatever the timer slack, and a vCPU idle for long takes a while to come
 * back (at 10 messages/s, sends left 224 µs late at p50 before this).
 */
const WAKE_AHEAD_MS = 1;

/** The stretch before a moment `waitMs` away that is spun rather than slept, ms. */
export function spinMsFor(waitMs: number): number {
  return Math.min(MAX_SPIN_US, Math.max(SPIN_US, waitMs * 1000 * SPIN_SHARE)) / 1000;
}

/**
 * How long to block now, ms, for a moment `untilMs` away whose last
 * `spinMs` are spun: a long wait ends {@linkcode WAKE_AHEAD_MS} early and
 * is followed by a short one; no block is longer than
 * {@linkcode MAX_BLOCK_MS}. Zero or less: spin now.
 */
export function blockMsFor(untilMs: number, spinMs: number): number {
  return Math.min(
    MAX_BLOCK_MS,
    untilMs > 2 * WAKE_AHEAD_MS ? untilMs - WAKE_AHEAD_MS : untilMs - spinMs,
  );
}

/** Writes a wait of `ms` (clamped at zero) into a `struct timespec`. */
export function setTimespec(timespec: BigInt64Array, ms: number): void {
  const ns = Math.max(0, Math.floor(ms * 1e6));
  timespec[0] = BigInt(Math.floor(ns / 1e9));
  timespec[1] = BigInt(ns % 1e9);
}

interface Waiter {
  fd: number;
  events: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Timer {
  targetPerf: number;
  /** How long before `targetPerf` the wait stops sleeping and spins. */
  spinMs: number;
  /** Run by the reactor itself the moment the timer is due, before any promise settles. */
  onDue?: () => void;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The reactor of this thread. */
export class FfiReactor {
  #waiters: Waiter[] = [];
  #timers: Timer[] = [];
  #running = false;
  #pollFds = new Uint8Array(8 * 64);
  #timespec = new BigInt64Array(2);

  constructor() {
    // Sleeps end within a µs of their time instead of the default 50 µs slack.
    lowerTimerSlack();
  }

  /** Resolves when `fd` is readable (or hung up: the read that follows tells which). */
  readable(fd: number): Promise<void> {
    return this.#wait(fd, LINUX.POLLIN);
  }

  /** Resolves when `fd` can take more bytes. */
  writable(fd: number): Promise<void> {
    return this.#wait(fd, LINUX.POLLOUT);
  }

  /**
   * Resolves at `targetPerf` (a `performance.now()` time), within a few µs.
   * `onDue` runs at that moment inside the reactor, before the promise
   * settles: after a wake-up the hops to a waiting sender took 3.5-5 µs at
   * p50 and 13 µs at p99, so a send that must leave on time goes there. What
   * it throws rejects the promise.
   */
  sleepUntil(targetPerf: number, onDue?: () => void): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1].targetPerf > targetPerf) i--;
    const spinMs = spinMsFor(targetPerf - performance.now());
    this.#timers.splice(i, 0, { targetPerf, spinMs, onDue, resolve, reject });
    this.#start();
    return promise;
  }

  /** Fails every wait on `fd` (it is being closed). */
  forget(fd: number): void {
    const closed = this.#waiters.filter((w) => w.fd === fd);
    this.#waiters = this.#waiters.filter((w) => w.fd !== fd);
    for (const w of closed) w.reject(new PeerClosedError("connection closed"));
  }

  #wait(fd: number, events: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiters.push({ fd, events, resolve, reject });
    this.#start();
    return promise;
  }

  #start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#run().finally(() => (this.#running = false));
  }

  async #run(): Promise<void> {
    const c = libc();
    // Not within the call that started it: the caller's neighbours get to register their waits
    // first (a receive loop starting the reactor would otherwise block for a whole slice before
    // the sender set its first timer: the first message left 1.1 ms late).
    await microtaskHops();
    while (this.#waiters.length > 0 || this.#timers.length > 0) {
      const waiters = this.#waiters;
      if (this.#pollFds.length < waiters.length * 8) {
        this.#pollFds = new Uint8Array(waiters.length * 16);
      }
      const view = new DataView(this.#pollFds.buffer);
      waiters.forEach((w, i) => {
        view.setInt32(i * 8, w.fd, true);
        view.setInt16(i * 8 + 4, w.events, true);
        view.setInt16(i * 8 + 6, 0, true);
      });
      const next = this.#timers[0]?.targetPerf ?? Infinity;
      const spinMs = this.#timers[0]?.spinMs ?? 0;
      const blockMs = blockMsFor(next - performance.now(), spinMs);
      let ready = 0;
      if (blockMs > 0 || waiters.length > 0) {
        setTimespec(this.#timespec, blockMs);
        ready = c.ppoll(this.#pollFds, BigInt(waiters.length), this.#timespec, null);
      }
      // The last stretch before a timer: spin on the clock, still looking at the sockets.
      if (ready <= 0 && next - performance.now() <= spinMs) {
        const count = BigInt(waiters.length);
        while (performance.now() < next) {
          if (waiters.length > 0 && (ready = c.poll(this.#pollFds, count, 0)) > 0) break;
        }
      }
      const wokenFds: number[] = [];
      if (ready > 0) {
        const still: Waiter[] = [];
        waiters.forEach((w, i) => {
          if (view.getInt16(i * 8 + 6, true) !== 0) {
            w.resolve();
            wokenFds.push(w.fd);
          } else {
            still.push(w);
          }
        });
        // Waits added while polling are kept too.
        this.#waiters = [...still, ...this.#waiters.slice(waiters.length)];
      }
      const now = performance.now();
      const timersBefore = this.#timers.length;
      let wokenTimers = 0;
      while (this.#timers.length > 0 && this.#timers[0].targetPerf <= now) {
        const timer = this.#timers.shift()!;
        try {
          timer.onDue?.();
          timer.resolve();
        } catch (error) {
          timer.reject(error instanceof Error ? error : new Error(String(error)));
        }
        wokenTimers++;
      }
      // Let what was just woken run first (a sender sends), and turn the event loop (messages,
      // flush timers) only every few ms: just after a sleep, one setImmediate() call took 44
      // µs at p50 (a cold thread), and woken continuations that waited for it left 80-250 µs
      // late at 10 messages/s. A few microtask hops usually let each woken reader and sender
      // wait again; when one has not (a longer chain, or it is done), a full turn finishes the
      // chains, so the next block never leaves out a wait that was on its way.
      if (wokenFds.length > 0 || wokenTimers > 0) {
        await microtaskHops();
        if (!this.#waitsRenewed(wokenFds, timersBefore)) {
          await yieldNow();
          continue;
        }
      }
      const turn = yieldIfDue();
      if (turn) await turn;
    }
  }

  /** Whether every woken reader waits again, and the senders set as many timers as before. */
  #waitsRenewed(wokenFds: number[], timersBefore: number): boolean {
    if (this.#timers.length < timersBefore) return false;
    if (wokenFds.length === 0) return true;
    const waiting = new Set(this.#waiters.map((w) => w.fd));
    return wokenFds.every((fd) => waiting.has(fd));
  }
}

/**
 * Yields to the microtask queue a few times, so continuations woken just
 * before (each `await` in a chain is one hop; a paced sender's is 3–4 deep)
 * run before this caller goes on.
 */
async function microtaskHops(): Promise<void> {
  for (let hop = 0; hop < 8; hop++) await undefined;
}

/**
 * A non-blocking descriptor whose waits go through a reactor: what the FFI
 * stream and datagram sockets share. Closing it fails its waits.
 */
export abstract class ReactorSocket {
  protected readonly fd: number;
  protected readonly reactor: FfiReactor;
  #closed = false;

  constructor(fd: number, reactor: FfiReactor = threadReactor()) {
    this.fd = fd;
    this.reactor = reactor;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the descriptor; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.reactor.forget(this.fd);
    libc().close(this.fd);
  }
}

let reactor: FfiReactor | undefined;

/** This thread's reactor. */
export function threadReactor(): FfiReactor {
  return reactor ??= new FfiReactor();
}

/**
 * A paced sender's wait with the FFI engine: sleeps in this thread's reactor (which keeps reading
 * replies) until the moment, in slices of at most 100 ms so a stop is
 * noticed.
 */
export async function sleepUntilFfi(
  targetPerfMs: number,
  cancelled: () => boolean,
  /** Run inside the reactor at the moment (see {@linkcode FfiReactor.sleepUntil}); not when cancelled first. */
  onDue?: () => void,
): Promise<void> {
  const reactor = threadReactor();
  while (!cancelled()) {
    const sliceEnd = Math.min(targetPerfMs, performance.now() + 100);
    const last = sliceEnd >= targetPerfMs;
    await reactor.sleepUntil(sliceEnd, last ? onDue : undefined);
    if (last) return;
  }
}
