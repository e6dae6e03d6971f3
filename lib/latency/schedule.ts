/**
 * The send schedule of an open-loop run: when each message is meant to
 * leave, how many messages each connection sends, and how to tell the rate
 * that was asked from the rate that happened. Pure arithmetic, no arrays of
 * times, so an hour-long run at 100 000 messages/s costs nothing to plan.
 *
 * Messages are numbered across the run: message j is due at j / rate
 * seconds after the common start and goes out on connection j mod N (N
 * connections over all workers). Connection k therefore sends its i-th
 * message at (i·N + k) / rate, so the connections interleave evenly instead
 * of bursting together, as wrk2 spreads its rate over connections.
 *
 * @module
 */

/** The schedule of one run, shared by every worker. */
export interface SendSchedule {
  /** Messages per second over all connections. */
  ratePerSec: number;
  /** Connections over all workers (N). */
  totalConnections: number;
}

/**
 * When message `seq` of connection `connection` is due, in ms after the
 * common start.
 *
 * @example
 * ```ts
 * intendedOffsetMs({ ratePerSec: 1000, totalConnections: 4 }, 1, 2); // 9: message 2·4+1
 * ```
 */
export function intendedOffsetMs(s: SendSchedule, connection: number, seq: number): number {
  return (seq * s.totalConnections + connection) * 1000 / s.ratePerSec;
}

/**
 * The last message of `connection` that is due at `elapsedMs` after the
 * start (−1 when none is due yet). The inverse of {@linkcode intendedOffsetMs}.
 */
export function lastDueSeq(s: SendSchedule, connection: number, elapsedMs: number): number {
  const globalIndex = Math.floor(elapsedMs * s.ratePerSec / 1000 + 1e-9);
  if (globalIndex < connection) return -1;
  return Math.floor((globalIndex - connection) / s.totalConnections);
}

/**
 * Messages connection `connection` sends in a window of `windowMs`: those
 * due strictly before the window ends.
 */
export function messagesInWindow(s: SendSchedule, connection: number, windowMs: number): number {
  const total = Math.ceil(windowMs * s.ratePerSec / 1000 - 1e-9);
  return Math.max(0, Math.ceil((total - connection) / s.totalConnections));
}

/** Length of the schedule that sends `totalMessages` at the rate: the window they fill. */
export function scheduleWindowMs(s: SendSchedule, totalMessages: number): number {
  return totalMessages * 1000 / s.ratePerSec;
}

/**
 * How late a send may still go out: 10% of the window, at least 50 ms.
 * A client that falls further behind stops sending rather than stretching
 * the run without bound; what it never sent is counted as unsent.
 */
export function sendCutoffMs(windowMs: number): number {
  return windowMs + Math.max(50, windowMs * 0.1);
}

/** What was asked beside what happened. */
export interface RateFigures {
  /** The rate asked for, messages per second. */
  askedPerSec: number;
  /** Messages sent per second of the time it took to send them. */
  achievedPerSec: number;
  /** achieved / asked: 1 when every message left on time. */
  ratio: number;
}

/** Below this share of the asked rate the summary warns that the rate was not kept. */
export const MIN_RATE_RATIO = 0.99;

/**
 * The achieved rate: messages sent over the span from the common start to
 * the last send, plus one slot (the last message owns 1/rate of the
 * window). A client that kept every appointment scores exactly the asked
 * rate; one that sent late, or cut its sends off, scores less.
 *
 * @param lastSendMs when the last message left, in ms after the common start
 */
export function rateFigures(
  ratePerSec: number,
  sent: number,
  lastSendMs: number,
): RateFigures {
  const spanMs = Math.max(0, lastSendMs) + 1000 / ratePerSec;
  const achievedPerSec = sent === 0 ? 0 : sent * 1000 / spanMs;
  return { askedPerSec: ratePerSec, achievedPerSec, ratio: achievedPerSec / ratePerSec };
}
