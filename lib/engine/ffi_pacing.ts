/**
 * Keeping a schedule on a thread that waits on its own sockets through FFI,
 * as the open loops do with the FFI engine (`lib/udp/ffi_schedule.ts`,
 * `lib/latency/open_loop_ffi.ts`): sleep in `ppoll` until shortly before
 * each moment, with the thread's timer slack lowered to 1 µs, and spin the
 * rest on the clock, serving sockets all along; let the event loop in while
 * the moment is still far off. A paced sender so sleeps between sends
 * instead of spinning, and replies are read the moment they arrive.
 *
 * @module
 */
import { lowerTimerSlack } from "./libc.ts";
import { yieldIfDue } from "./thread_turns.ts";

/** The last stretch before a moment that is spun rather than slept (wake-ups are late by about this). */
export const SPIN_US = 50;
/**
 * A moment further ahead spins a longer stretch, this share of its wait,
 * up to {@linkcode MAX_SPIN_US}: wake-ups after a long sleep are later and
 * vary more, and the spin costs this share of a core at most (at 10
 * messages/s, a 500 µs spin is 0.5% of a core).
 */
const SPIN_SHARE = 0.01;
const MAX_SPIN_US = 500;
/** Longest single block, so the runtime's own timers and messages get their turn. */
export const MAX_BLOCK_MS = 20;
/**
 * A block that would end further than this from the moment ends this far
 * before it instead, and a second, short block follows. A long sleep wakes
 * late: the kernel lets a `poll` timeout slip by 0.1% of its length
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

/** How a schedule's thread waits: on its sockets, serving what becomes ready. */
export interface SocketWaits {
  /** Blocks up to `ms` or until a socket is ready, serving what is. */
  sleep(ms: number): void;
  /** Serves what is ready now, without blocking. */
  pollNow(): void;
  stopping(): boolean;
}

let slackLowered = false;

/**
 * Waits for `duePerf` (a `performance.now()` time): sleeps until the last
 * stretch, taking the event loop's turns while the moment is still far off
 * (so none lands in that stretch), then spins it. Resolves with the time it
 * ended, or undefined when stopped first.
 */
export async function untilMoment(
  duePerf: number,
  waits: SocketWaits,
): Promise<number | undefined> {
  // Once per thread (the slack is a thread's own); without --allow-ffi it stays as it was.
  if (!slackLowered) {
    lowerTimerSlack();
    slackLowered = true;
  }
  const spinMs = spinMsFor(duePerf - performance.now());
  for (
    let blockMs = blockMsFor(duePerf - performance.now(), spinMs);
    blockMs > 0;
    blockMs = blockMsFor(duePerf - performance.now(), spinMs)
  ) {
    if (waits.stopping()) return undefined;
    const turn = yieldIfDue();
    if (turn) await turn;
    else waits.sleep(blockMs);
  }
  if (waits.stopping()) return undefined;
  let nowPerf = performance.now();
  while (nowPerf < duePerf) {
    waits.pollNow();
    nowPerf = performance.now();
  }
  return nowPerf;
}
