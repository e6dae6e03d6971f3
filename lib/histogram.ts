/**
 * HDR histograms of latencies, recorded in nanoseconds so that microsecond
 * figures keep sub-microsecond resolution, and mergeable across workers:
 * percentiles of a run come from the merged histogram, never from averages
 * of per-worker figures.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";

/** The HdrHistogram type from hdr-histogram-js. */
export type Histogram = hdr.Histogram;

/** The percentiles every latency summary reports, in percent. */
export const SUMMARY_PERCENTILES = [50, 90, 99, 99.9, 99.99] as const;

/** Smallest value kept apart from zero: 1 ns. */
const LOWEST_NS = 1;
/** One hour: longer round trips are clamped, and counted as such. */
export const HIGHEST_NS = 3_600_000_000_000;

/** Makes an empty histogram with 3 significant digits (0.1% value error). */
export function createHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: LOWEST_NS,
    highestTrackableValue: HIGHEST_NS,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 64,
    useWebAssembly: false,
  });
}

/** Records a latency in microseconds (fractions kept down to 1 ns). */
export function recordUs(histogram: Histogram, valueUs: number): void {
  const ns = Math.min(HIGHEST_NS, Math.max(LOWEST_NS, Math.round(valueUs * 1000)));
  histogram.recordValue(ns);
}

/** Serialises a histogram so it can cross a worker boundary or sit in JSON. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Reverses {@linkcode encodeHistogram}. */
export function decodeHistogram(encoded: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 64, false);
  // Decoding gives a histogram sized for its content; copy into a standard
  // one so later merges of other runs cannot overflow its range.
  const target = createHistogram();
  target.add(decoded);
  return target;
}

/** Adds every histogram into a new one: the exact histogram of all their samples. */
export function mergeHistograms(histograms: Iterable<Histogram>): Histogram {
  const merged = createHistogram();
  for (const histogram of histograms) merged.add(histogram);
  return merged;
}

/** Latency figures of a set of samples, in microseconds. */
export interface LatencyStats {
  /** Number of successful samples behind the figures. */
  count: number;
  minUs: number;
  meanUs: number;
  stddevUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  p9999Us: number;
  maxUs: number;
  /**
   * Percentiles (as "p99.9" …) with fewer than
   * {@linkcode MIN_SAMPLES_BEYOND} samples beyond them: shown, but not to be
   * trusted.
   */
  untrustedPercentiles: string[];
}

/**
 * A percentile needs this many samples above it before we call it measured:
 * with 10 000 samples, p99.99 rests on a single sample.
 */
export const MIN_SAMPLES_BEYOND = 10;

/** Names the percentile as summaries print it: 99.9 → "p99.9". */
export function percentileLabel(percent: number): string {
  return `p${percent}`;
}

/** Computes the summary figures of a histogram, in microseconds. */
export function latencyStats(histogram: Histogram): LatencyStats {
  const count = histogram.totalCount;
  // HdrHistogram answers with the top of a bucket, which can exceed the
  // largest value recorded; a percentile above the maximum would be absurd.
  const at = (p: number) =>
    count === 0 ? 0 : Math.min(histogram.getValueAtPercentile(p), histogram.maxValue) / 1000;
  return {
    count,
    minUs: count === 0 ? 0 : histogram.minNonZeroValue / 1000,
    meanUs: count === 0 ? 0 : histogram.mean / 1000,
    stddevUs: count === 0 ? 0 : histogram.stdDeviation / 1000,
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    p9999Us: at(99.99),
    maxUs: count === 0 ? 0 : histogram.maxValue / 1000,
    untrustedPercentiles: SUMMARY_PERCENTILES
      .filter((p) => count * (1 - p / 100) < MIN_SAMPLES_BEYOND)
      .map(percentileLabel),
  };
}
