/**
 * Differences between two runs of the same kind: percentiles, mean and
 * rate side by side, and whether the medians differ beyond noise. Pure.
 *
 * @module
 */
import type { AttemptsData } from "./attempts.ts";
import { type MedianDifference, medianDifference } from "./stats.ts";

/** One figure of both runs. */
export interface DiffRow {
  metric: "p50" | "p90" | "p99" | "p99.9" | "mean" | "rate";
  /** "us" for times, "per_sec" for the rate. */
  unit: "us" | "per_sec";
  base: number;
  other: number;
  difference: number;
  /** Relative change, percent of the baseline (null when the baseline is 0). */
  changePercent: number | null;
  /** A percentile with fewer than 10 samples beyond it in either run. */
  untrusted: boolean;
}

/** A run compared with the baseline. */
export interface RunComparison {
  base: string;
  other: string;
  rows: DiffRow[];
  /** The median difference with its 95% interval; null with too few samples. */
  median: MedianDifference | null;
}

/** Compares `other` with `base` (difference = other − base). */
export function compareRuns(
  base: { label: string; data: AttemptsData },
  other: { label: string; data: AttemptsData },
): RunComparison {
  const a = base.data;
  const b = other.data;
  const untrusted = (label: string) =>
    a.stats.untrustedPercentiles.includes(label) || b.stats.untrustedPercentiles.includes(label);
  const row = (
    metric: DiffRow["metric"],
    unit: DiffRow["unit"],
    x: number,
    y: number,
  ): DiffRow => ({
    metric,
    unit,
    base: x,
    other: y,
    difference: y - x,
    changePercent: x !== 0 ? 100 * (y - x) / x : null,
    untrusted: untrusted(metric),
  });
  return {
    base: base.label,
    other: other.label,
    rows: [
      row("p50", "us", a.stats.p50Us, b.stats.p50Us),
      row("p90", "us", a.stats.p90Us, b.stats.p90Us),
      row("p99", "us", a.stats.p99Us, b.stats.p99Us),
      row("p99.9", "us", a.stats.p999Us, b.stats.p999Us),
      row("mean", "us", a.stats.meanUs, b.stats.meanUs),
      row("rate", "per_sec", a.ratePerSec, b.ratePerSec),
    ],
    median: a.median && b.median ? medianDifference(a.median, b.median) : null,
  };
}

/**
 * The verdict on the medians in one plain sentence, e.g. "after's median
 * is 3.10 µs (6.4%) higher than before's (95% CI +2.90 to +3.30 µs): a
 * real difference, beyond noise".
 */
export function medianVerdict(c: RunComparison, formatUs: (us: number) => string): string {
  const m = c.median;
  if (!m) return `Too few samples to compare the medians of ${c.other} and ${c.base}`;
  const signed = (us: number) => (us > 0 ? "+" : us < 0 ? "−" : "±") + formatUs(Math.abs(us));
  const interval = `95% CI ${signed(m.lowUs)} to ${signed(m.highUs)}`;
  const p50 = c.rows[0];
  const change = p50.changePercent === null ? "" : ` (${Math.abs(p50.changePercent).toFixed(1)}%)`;
  if (m.withinNoise) {
    return `The medians of ${c.other} and ${c.base} differ by ${
      signed(m.differenceUs)
    } (${interval}): within noise, no difference shown`;
  }
  return `${c.other}'s median is ${formatUs(Math.abs(m.differenceUs))}${change} ${
    m.differenceUs > 0 ? "higher" : "lower"
  } than ${c.base}'s (${interval}): a real difference, beyond noise`;
}
