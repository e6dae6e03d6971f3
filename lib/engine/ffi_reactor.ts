/**
 * A small event loop for FFI sockets, for the waits that are not worth a
 * thread of their own (connecting and warming up a Worker's sockets): one
 * `ppoll` blocks the thread until a socket is ready, at most
 * {@linkcode MAX_BLOCK_MS} at a time, and between rounds the reactor yields
 * to the runtime's event loop, so messages and timers keep running. The
 * open loops' schedules do not go through it: they wait on their sockets
 * themselves (`ffi_pacing.ts`).
 *
 * @module
 */
import { libc, LINUX } from "./libc.ts";
import { MAX_BLOCK_MS, setTimespec } from "./ffi_pacing.ts";
import { yieldIfDue, yieldNow } from "./thread_turns.ts";
import { PeerClosedError } from "../net_io.ts";

interface Waiter {
  fd: number;
  events: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The reactor of this thread. */
export class FfiReactor {
  #waiters: Waiter[] = [];
  #running = false;
  #pollFds = new Uint8Array(8 * 64);
  #timespec = new BigInt64Array(2);

  /** Resolves when `fd` is readable (or hung up: the read that follows tells which). */
  readable(fd: number): Promise<void> {
    return this.#wait(fd, LINUX.POLLIN);
  }

  /** Resolves when `fd` can take more bytes. */
  writable(fd: number): Promise<void> {
    return this.#wait(fd, LINUX.POLLOUT);
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
    // first, and one poll covers them all.
    await microtaskHops();
    while (this.#waiters.length > 0) {
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
      setTimespec(this.#timespec, MAX_BLOCK_MS);
      const ready = c.ppoll(this.#pollFds, BigInt(waiters.length), this.#timespec, null);
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
      // Let what was just woken run first, and turn the event loop (messages, timers) only
      // every few ms: a turn just after a sleep is slow (one setImmediate() took 44 µs at p50 on
      // a cold thread). A few microtask hops usually let each woken reader wait again; when one
      // has not (a longer chain, or it is done), a full turn finishes the chains, so the next
      // block never leaves out a wait that was on its way.
      if (wokenFds.length > 0) {
        await microtaskHops();
        if (!this.#waitsRenewed(wokenFds)) {
          await yieldNow();
          continue;
        }
      }
      const turn = yieldIfDue();
      if (turn) await turn;
    }
  }

  /** Whether every woken reader waits again. */
  #waitsRenewed(wokenFds: number[]): boolean {
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
