/**
 * When each probe runs: every peer and probe kind on its own timer, at
 * `interval` apart on average, each gap drawn at random within
 * ±`jitter` of it and the first one at a random phase, so agents started
 * together never probe in step (and never synchronise later either).
 * Timers rather than the open-loop pacer's spin: a probe a second costs
 * nothing while waiting.
 *
 * @module
 */

/** How probes are spaced. */
export interface ScheduleOptions {
  /** Mean gap between two probes of one kind to one peer, ms. @default {1000} */
  intervalMs: number;
  /** Each gap is drawn uniformly within ±this fraction of the interval. @default {0.2} */
  jitterFraction: number;
}

/** The defaults: one probe a second, ±20%. */
export const DEFAULT_SCHEDULE_OPTIONS: Readonly<ScheduleOptions> = Object.freeze({
  intervalMs: 1000,
  jitterFraction: 0.2,
});

/** Delay of the first probe: a random phase within one interval. */
export function firstDelayMs(options: ScheduleOptions, random: () => number): number {
  return random() * options.intervalMs;
}

/** One jittered gap: the interval ± jitter, uniformly. */
export function jitteredGapMs(options: ScheduleOptions, random: () => number): number {
  return options.intervalMs * (1 + options.jitterFraction * (2 * random() - 1));
}

/**
 * When the next probe is due, given when the last one was due: gaps are
 * added to the due time, not to the time the probe finished, so a slow
 * probe does not stretch the schedule; when a probe took longer than a
 * gap, the next one starts at once rather than in a burst of catch-ups.
 */
export function nextDueMs(
  lastDueMs: number,
  nowMs: number,
  options: ScheduleOptions,
  random: () => number,
): number {
  const due = lastDueMs + jitteredGapMs(options, random);
  return due < nowMs ? nowMs : due;
}
