/**
 * Where the intervals of a throughput run start and end. Every worker
 * counts bytes into the same intervals of the same shared-clock timeline,
 * so per-interval totals across streams add up. Pure arithmetic: no array
 * of intervals is built, so a day-long run at 10 ms intervals costs nothing.
 *
 * The timeline, like iperf3's `--omit`: first `omitMs` whose intervals are
 * reported but not counted (TCP slow start, buffers filling), then
 * `durationMs` that are measured. Each phase is cut into `intervalMs`
 * pieces from its own start; the last piece of a phase may be shorter.
 *
 * @module
 */

/** The timeline of a throughput run, in ms from its common start. */
export interface IntervalSchedule {
  /** Leading time reported but left out of the totals. */
  omitMs: number;
  /** Length of each reported interval. */
  intervalMs: number;
  /** Measured time after the omitted part. */
  durationMs: number;
}

/** Start and end of one interval, in ms from the common start. */
export interface IntervalBounds {
  index: number;
  startMs: number;
  endMs: number;
  /** Inside the omitted leading part. */
  omitted: boolean;
}

/** Intervals in the omitted part. */
export function omittedIntervals(s: IntervalSchedule): number {
  return Math.ceil(s.omitMs / s.intervalMs);
}

/** Intervals in the whole run. */
export function intervalCount(s: IntervalSchedule): number {
  return omittedIntervals(s) + Math.ceil(s.durationMs / s.intervalMs);
}

/** Length of the whole run, omitted part included. */
export function totalMs(s: IntervalSchedule): number {
  return s.omitMs + s.durationMs;
}

/**
 * Index of the interval that holds `elapsedMs` (ms from the common start),
 * for 0 ≤ elapsedMs < {@linkcode totalMs}; times past the end land in the
 * last interval.
 */
export function intervalAt(s: IntervalSchedule, elapsedMs: number): number {
  const last = intervalCount(s) - 1;
  if (elapsedMs < s.omitMs) return Math.min(last, Math.floor(elapsedMs / s.intervalMs));
  const index = omittedIntervals(s) + Math.floor((elapsedMs - s.omitMs) / s.intervalMs);
  return Math.min(last, index);
}

/** Start and end of interval `index`. */
export function intervalBounds(s: IntervalSchedule, index: number): IntervalBounds {
  const omitted = omittedIntervals(s);
  if (index < omitted) {
    return {
      index,
      startMs: index * s.intervalMs,
      endMs: Math.min((index + 1) * s.intervalMs, s.omitMs),
      omitted: true,
    };
  }
  const k = index - omitted;
  return {
    index,
    startMs: s.omitMs + k * s.intervalMs,
    endMs: s.omitMs + Math.min((k + 1) * s.intervalMs, s.durationMs),
    omitted: false,
  };
}
