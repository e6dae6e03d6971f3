/**
 * Waiting until a moment on `performance.now()` with sub-millisecond
 * accuracy, for senders that keep a schedule.
 *
 * Deno's timers fire about 2 ms late at best (measured: `setTimeout(f, 0)`
 * takes ~2.2 ms), far coarser than the gaps of a fast schedule. So the
 * wait sleeps on a timer until {@linkcode SPIN_WINDOW_MS} before the
 * moment, then yields with `setImmediate` until it arrives: each yield lets
 * the event loop run socket completions (replies keep their timestamps) and
 * costs a few µs, at the price of keeping the thread busy during that last
 * stretch. A schedule with gaps shorter than the window keeps its thread
 * busy for good; the summary's CPU figure shows it.
 *
 * Unless the caller says nothing is in flight (`idle`): then no reply can
 * arrive to be timestamped late, and the thread blocks in `Atomics.wait`
 * (a futex, precise to tens of µs) until a margin (0.1 ms, 0.25 ms without FFI)
 * before the earliest moment any sender of this thread waits for, and
 * spins only that margin. With `--allow-ffi` on Linux the thread's timer
 * slack is lowered to 1 µs first, so the margin can be small.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { lowerTimerSlack } from "./engine/libc.ts";

/** How long before the moment the wait stops trusting timers. */
export const SPIN_WINDOW_MS = 3;

/** The last stretch spun after a blocking wait, ms: wake-ups are mostly less late than this. */
let blockMarginMs = 0.25;
/** Longest single block, so messages and timers of this thread still get their turn. */
const MAX_BLOCK_MS = 5;

/** Moments the senders of this thread wait for, so a block never overruns the earliest. */
const waiting: number[] = [];
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let slackChecked = false;

/** Resolves at the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Resolves at or just after `targetPerfMs` (a `performance.now()` time),
 * after at least one turn of the event loop, or as soon as `cancelled()`
 * turns true.
 */
export async function waitUntil(
  targetPerfMs: number,
  cancelled: () => boolean,
  /** True when no reply is expected now, so blocking the thread delays none. */
  idle?: () => boolean,
): Promise<void> {
  // Before the first sleep, not in the last stretch: lowering the slack loads libc through FFI
  // on first use, which took 3-4 ms and made every run's first message that late.
  if (idle && !slackChecked) {
    slackChecked = true;
    if (lowerTimerSlack()) blockMarginMs = 0.1;
  }
  while (!cancelled()) {
    const sleepMs = targetPerfMs - performance.now() - SPIN_WINDOW_MS;
    if (sleepMs <= 0) break;
    // Sleep in slices, so a stop is noticed within 100 ms even at slow rates.
    await new Promise((resolve) => setTimeout(resolve, Math.min(sleepMs, 100)));
  }
  // Only senders that may block take part (every sender of a Worker passes `idle`, or none does).
  if (idle) waiting.push(targetPerfMs);
  try {
    // At least one turn even when the moment has passed, so a sender that is
    // behind still lets replies in between its writes.
    do {
      if (idle?.()) {
        const blockMs = Math.min(...waiting) - performance.now() - blockMarginMs;
        if (blockMs > 0) Atomics.wait(sleeper, 0, 0, Math.min(blockMs, MAX_BLOCK_MS));
      }
      await nextTurn();
    } while (performance.now() < targetPerfMs && !cancelled());
  } finally {
    if (idle) waiting.splice(waiting.indexOf(targetPerfMs), 1);
  }
}
