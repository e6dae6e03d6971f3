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
 * @module
 */
import { setImmediate } from "node:timers";

/** How long before the moment the wait stops trusting timers. */
export const SPIN_WINDOW_MS = 3;

/** Resolves at the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Resolves at or just after `targetPerfMs` (a `performance.now()` time),
 * after at least one turn of the event loop, or as soon as `cancelled()`
 * turns true.
 */
export async function waitUntil(targetPerfMs: number, cancelled: () => boolean): Promise<void> {
  while (!cancelled()) {
    const sleepMs = targetPerfMs - performance.now() - SPIN_WINDOW_MS;
    if (sleepMs <= 0) break;
    // Sleep in slices, so a stop is noticed within 100 ms even at slow rates.
    await new Promise((resolve) => setTimeout(resolve, Math.min(sleepMs, 100)));
  }
  // At least one turn even when the moment has passed, so a sender that is
  // behind still lets replies in between its writes.
  do await nextTurn(); while (performance.now() < targetPerfMs && !cancelled());
}
