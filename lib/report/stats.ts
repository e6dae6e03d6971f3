/**
 * The figures a report derives from histograms: the percentile spectrum
 * and display bins on a log axis. Pure functions. (Differences between
 * runs, with their intervals, come from lib/compare/, as `compare` makes them.)
 *
 * @module
 */
import type { Histogram } from "../histogram.ts";
import { BUCKETS_PER_DECADE, type LogHistogram } from "./log_histogram.ts";

/** One point of a percentile spectrum (the standard HdrHistogram latency plot). */
export interface SpectrumPoint {
  /** Percentile, 0…100. */
  percentile: number;
  /** 1 / (1 − p): the plot's x axis, log scale (10 = p90, 1000 = p99.9). */
  inverseTail: number;
  /** Value at that percentile, µs. */
  valueUs: number;
  /** Samples above this percentile: fewer than 10 means "do not trust". */
  beyond: number;
}

/** Steps of the spectrum per factor of ten of 1 / (1 − p). */
export const SPECTRUM_STEPS_PER_DECADE = 20;
/** The spectrum stops at p99.999 (1 / (1 − p) = 10^5). */
export const SPECTRUM_DECADES = 5;

/**
 * The percentile spectrum of an HDR histogram (ns) from p0 to p99.999, in
 * µs. Points go on while more than one sample lies above them; the last
 * one, at 1 − 1/n, shows the maximum.
 */
export function percentileSpectrum(histogram: Histogram): SpectrumPoint[] {
  const count = histogram.totalCount;
  if (count === 0) return [];
  const maxUs = histogram.maxValue / 1000;
  const minUs = histogram.minNonZeroValue / 1000;
  const points: SpectrumPoint[] = [];
  const steps = SPECTRUM_STEPS_PER_DECADE * SPECTRUM_DECADES;
  for (let k = 0; k <= steps; k++) {
    const tail = 10 ** (-k / SPECTRUM_STEPS_PER_DECADE);
    const beyond = count * tail;
    // The point with a single sample beyond is the maximum's; it comes last.
    if (beyond < 1 + 1e-9) break;
    const percentile = 100 * (1 - tail);
    const valueUs = k === 0
      ? minUs
      : Math.min(maxUs, histogram.getValueAtPercentile(percentile) / 1000);
    points.push({ percentile, inverseTail: 1 / tail, valueUs, beyond: Math.round(beyond) });
  }
  if (count > 1 && count <= 10 ** SPECTRUM_DECADES) {
    points.push({
      percentile: 100 * (1 - 1 / count),
      inverseTail: count,
      valueUs: maxUs,
      beyond: 1,
    });
  }
  return points;
}

/** One bar of a histogram on a log axis. */
export interface HistogramBin {
  lowUs: number;
  highUs: number;
  count: number;
  /** Share of all values, percent. */
  percent: number;
}

/** Display bins per factor of ten: 20, each 12.2% wide. */
export const DISPLAY_BINS_PER_DECADE = 20;

/**
 * Groups a {@linkcode LogHistogram}'s fine buckets into display bins on a
 * log axis, from the lowest to the highest non-empty one, empty bins
 * between included (so overlaid step lines drop to zero where they should).
 */
export function displayBins(histogram: LogHistogram): HistogramBin[] {
  const group = BUCKETS_PER_DECADE / DISPLAY_BINS_PER_DECADE;
  const counts = new Map<number, number>();
  for (const [index, count] of histogram.buckets()) {
    const g = Math.floor(index / group);
    counts.set(g, (counts.get(g) ?? 0) + count);
  }
  if (counts.size === 0) return [];
  const groups = [...counts.keys()];
  const first = Math.min(...groups);
  const last = Math.max(...groups);
  const bins: HistogramBin[] = [];
  for (let g = first; g <= last; g++) {
    const count = counts.get(g) ?? 0;
    bins.push({
      lowUs: 10 ** (g / DISPLAY_BINS_PER_DECADE),
      highUs: 10 ** ((g + 1) / DISPLAY_BINS_PER_DECADE),
      count,
      percent: 100 * count / histogram.count,
    });
  }
  return bins;
}
