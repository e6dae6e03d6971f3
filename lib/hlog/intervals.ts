/**
 * Buckets samples into wall-clock-aligned intervals, one histogram per tag
 * and interval, so that logs written on different hosts line up: interval k
 * covers `[k·intervalMs, (k+1)·intervalMs)` ms since the Unix epoch, cut to
 * the measured window at both ends. A sample belongs to the interval in
 * which it started (the `start_us`/`time_us` of its CSV row).
 *
 * Pure: the caller says what time it is and decides where intervals go.
 *
 * @module
 */
import { createHistogram, type Histogram, recordUs } from "../histogram.ts";
import type { HlogInterval } from "./format.ts";

/** How an {@linkcode IntervalRecorder} cuts time. */
export interface IntervalRecorderOptions {
  /** Length of an interval; boundaries are multiples of it since the epoch. @default {1000} */
  intervalMs: number;
  /** Start of the measured window, ms since the epoch: the first interval starts here. */
  startEpochMs: number;
}

interface OpenInterval {
  tag: string;
  index: number;
  histogram: Histogram;
}

/**
 * Collects samples per tag and interval until the caller takes the
 * intervals that are over.
 *
 * @example
 * ```ts
 * const recorder = new IntervalRecorder({ intervalMs: 1000, startEpochMs: Date.now() });
 * recorder.recordUs("node-1/latency", Date.now(), 87.5);
 * const finished = recorder.takeEndedBefore(Date.now() - 5000);
 * const rest = recorder.takeAll(Date.now());
 * ```
 */
export class IntervalRecorder {
  readonly intervalMs: number;
  readonly startEpochMs: number;
  #open = new Map<string, OpenInterval>();

  constructor(options: IntervalRecorderOptions) {
    if (!(options.intervalMs > 0)) {
      throw new RangeError(`Interval must be positive, got ${options.intervalMs} ms`);
    }
    this.intervalMs = options.intervalMs;
    this.startEpochMs = options.startEpochMs;
  }

  /** Number of intervals holding samples not yet taken. */
  get openCount(): number {
    return this.#open.size;
  }

  /** Records a value in µs that started at `atEpochMs`; NaN (a failed attempt) is skipped. */
  recordUs(tag: string, atEpochMs: number, valueUs: number): void {
    if (Number.isNaN(valueUs)) return;
    // A sample stamped a hair before the window (clock resolution) stays in the first interval.
    const index = Math.floor(Math.max(atEpochMs, this.startEpochMs) / this.intervalMs);
    const key = `${index}\u0000${tag}`;
    let open = this.#open.get(key);
    if (!open) {
      open = { tag, index, histogram: createHistogram() };
      this.#open.set(key, open);
    }
    recordUs(open.histogram, valueUs);
  }

  /**
   * Removes and returns the intervals that ended at or before `epochMs`, in
   * time order. A sample that arrives later for such an interval opens it
   * again and is returned by a later call: logs may hold two lines for one
   * interval, and readers add them.
   */
  takeEndedBefore(epochMs: number): HlogInterval[] {
    return this.#take((open) => (open.index + 1) * this.intervalMs <= epochMs, Infinity);
  }

  /** Removes and returns every interval; the last ones end at `endEpochMs` (end of the window). */
  takeAll(endEpochMs: number): HlogInterval[] {
    return this.#take(() => true, endEpochMs);
  }

  #take(due: (open: OpenInterval) => boolean, windowEndEpochMs: number): HlogInterval[] {
    const taken: OpenInterval[] = [];
    for (const [key, open] of this.#open) {
      if (!due(open)) continue;
      taken.push(open);
      this.#open.delete(key);
    }
    taken.sort((a, b) => a.index - b.index || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
    return taken.map((open) => {
      const startEpochMs = Math.max(open.index * this.intervalMs, this.startEpochMs);
      const endEpochMs = Math.max(
        startEpochMs,
        Math.min((open.index + 1) * this.intervalMs, windowEndEpochMs),
      );
      return { tag: open.tag, startEpochMs, endEpochMs, histogram: open.histogram };
    });
  }
}
