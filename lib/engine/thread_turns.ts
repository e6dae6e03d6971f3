/**
 * Sharing one thread between connections whose calls block it: one round
 * trip at a time, and the event loop let in now and then so "stop"
 * messages, flush timers and progress keep running.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * A thread that has run this long without yielding lets its event loop in.
 * A turn after a blocking call costs 90-130 µs here (the runtime's own
 * deferred work, not syscalls): at 10 ms that was 1% of a closed loop's
 * time and 0.008 cores of a 1,000/s open loop; at 50 ms, "stop" still
 * lands within a tenth of a second and the 200 ms flushes are unaffected.
 */
export const YIELD_EVERY_MS = 50;

let lastYieldPerf = performance.now();

/** Lets this thread's event loop run once (messages, timers, I/O callbacks). */
export async function yieldNow(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  lastYieldPerf = performance.now();
}

/**
 * A yield when this thread has held its event loop for `everyMs`
 * ({@linkcode YIELD_EVERY_MS} unless said), else undefined.
 */
export function yieldIfDue(
  nowPerf = performance.now(),
  everyMs = YIELD_EVERY_MS,
): Promise<void> | undefined {
  return nowPerf - lastYieldPerf < everyMs ? undefined : yieldNow();
}

/**
 * Lets one caller at a time through: with blocking calls, a round trip of
 * one connection must not run inside another's wait, or both would be
 * timed with the other's work in them.
 */
export class TurnLock {
  #tail: Promise<void> = Promise.resolve();

  /** Resolves with the function that ends this caller's turn. */
  async take(): Promise<() => void> {
    const previous = this.#tail;
    const mine = Promise.withResolvers<void>();
    this.#tail = previous.then(() => mine.promise);
    await previous;
    return mine.resolve;
  }
}
