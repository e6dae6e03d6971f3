/**
 * The interval of a difference between two sets of runs, and the verdict.
 * Pure.
 *
 * Two sources of noise: samples within a run (correlated in time, so
 * resampled in blocks of consecutive time windows), and runs (the machine's
 * state drifts between them; only several runs per side show by how much).
 *
 * - One run per side: the interval is the block bootstrap's (percentile
 *   interval of the resampled differences). It leaves run-to-run noise out,
 *   so an interval that excludes zero earns "need more runs", never
 *   "better" or "worse"; one that includes zero is "no difference".
 * - Two or more runs on a side: each run's own figure is one observation,
 *   and the interval is the unequal-variance t interval over them with
 *   Hsu's conservative min(runs) − 1 degrees of freedom (a pooled variance
 *   when one side has a single run), centred on the difference of the
 *   pooled figures. A side's run-to-run variance is never taken below the
 *   mean within-run bootstrap variance of its runs, so two runs that happen
 *   to agree closely cannot make the interval narrower than sampling allows.
 *
 * @module
 */
import {
  type HistogramBlocks,
  nearestRank,
  resampledMean,
  resampledQuantiles,
  type ValueBlocks,
} from "./blocks.ts";
import { seededRandom } from "../report/reservoir.ts";
import { studentTQuantile } from "./student_t.ts";

/** Bootstrap resamples per run: enough for the 2.5% and 97.5% points to settle. */
export const BOOTSTRAP_RESAMPLES = 2000;

/** A percentile needs this many samples beyond it, per run, for an interval. */
export const MIN_SAMPLES_BEYOND = 10;

/** A mean rate needs this many intervals per run. */
export const MIN_INTERVALS = 3;

/** What a comparison says about one figure. */
export type Verdict =
  | "better"
  | "worse"
  | "no difference"
  | "need more runs"
  | "not enough samples";

/** One run's figure and its resampled values. */
export interface RunStatistic {
  value: number;
  /** Block-bootstrap replicates of the figure. */
  replicates: Float64Array;
  /** Samples (or intervals) behind it. */
  samples: number;
}

/** Every run of one side, and the figure of all its samples pooled. */
export interface SideStatistic {
  pooled: number;
  runs: RunStatistic[];
}

/** The difference new − base with its interval and verdict. */
export interface Difference {
  base: number;
  new: number;
  /** new − base. */
  difference: number;
  /** Percent of base; null when base is 0. */
  changePercent: number | null;
  /** Bounds of the interval of the difference; null with a "not enough samples" verdict. */
  low: number | null;
  high: number | null;
  verdict: Verdict;
  /** How the interval was made. */
  method: "between runs" | "within one run" | "none";
  /** Degrees of freedom of the t interval (between runs only). */
  df: number | null;
  /** Samples per run it would take to compute an interval (with "not enough samples"). */
  needSamples: number | null;
  /**
   * Roughly how many times more data (samples per run, or runs) an interval
   * this wide would need to exclude zero; null when already conclusive or
   * when the difference is 0.
   */
  moreDataFactor: number | null;
}

/**
 * Samples a run needs for an interval of percentile `q` (0…1) at
 * `confidence`: {@linkcode MIN_SAMPLES_BEYOND} beyond it, and enough that
 * the distribution-free order-statistic interval exists at all
 * (q^n < (1 − confidence)/2).
 */
export function samplesNeeded(q: number, confidence: number): number {
  const beyond = MIN_SAMPLES_BEYOND / (1 - q);
  const orderStatistic = Math.log((1 - confidence) / 2) / Math.log(q);
  return Math.ceil(Math.max(beyond, orderStatistic) - 1e-6);
}

/** Multiplicities of one block-bootstrap draw: `k` blocks picked with replacement. */
function drawBlocks(k: number, random: () => number, out: Int32Array): void {
  out.fill(0);
  for (let i = 0; i < k; i++) out[Math.floor(random() * k)]++;
}

/** Block-bootstrap replicates of quantiles `qs` (0…1) of one run; one array per quantile. */
export function bootstrapQuantiles(
  blocks: HistogramBlocks,
  qs: readonly number[],
  seed: number,
  resamples = BOOTSTRAP_RESAMPLES,
): Float64Array[] {
  const out = qs.map(() => new Float64Array(resamples));
  if (blocks.total === 0) return out;
  const random = seededRandom(seed);
  const k = blocks.cumulative.length;
  const m = new Int32Array(k);
  const values = new Float64Array(qs.length);
  for (let r = 0; r < resamples; r++) {
    drawBlocks(k, random, m);
    resampledQuantiles(blocks, m, qs, values);
    for (let j = 0; j < qs.length; j++) out[j][r] = values[j];
  }
  return out;
}

/** Block-bootstrap replicates of the mean of one run's values. */
export function bootstrapMean(
  blocks: ValueBlocks,
  seed: number,
  resamples = BOOTSTRAP_RESAMPLES,
): Float64Array {
  const out = new Float64Array(resamples);
  if (blocks.total === 0) return out;
  const random = seededRandom(seed);
  const k = blocks.sums.length;
  const m = new Int32Array(k);
  for (let r = 0; r < resamples; r++) {
    drawBlocks(k, random, m);
    out[r] = resampledMean(blocks, m);
  }
  return out;
}

function variance(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (values[i] - mean) ** 2;
  return sum / (n - 1);
}

/** Nearest-rank quantile of sorted values. */
function sortedQuantile(sorted: Float64Array, q: number): number {
  const i = nearestRank(q, sorted.length) - 1;
  return sorted[i];
}

/**
 * Compares `next` with `base` at `confidence` (0…1). `lowerIsBetter` for
 * times, not for rates. `needSamples` is what each run must have for an
 * interval; fewer in any run gives "not enough samples".
 */
export function difference(
  base: SideStatistic,
  next: SideStatistic,
  { confidence, lowerIsBetter, needSamples }: {
    confidence: number;
    lowerIsBetter: boolean;
    needSamples: number;
  },
): Difference {
  const diff = next.pooled - base.pooled;
  const result: Difference = {
    base: base.pooled,
    new: next.pooled,
    difference: diff,
    changePercent: base.pooled !== 0 ? 100 * diff / base.pooled : null,
    low: null,
    high: null,
    verdict: "not enough samples",
    method: "none",
    df: null,
    needSamples: null,
    moreDataFactor: null,
  };
  const fewest = Math.min(...base.runs.map((r) => r.samples), ...next.runs.map((r) => r.samples));
  if (!(fewest >= needSamples) || !Number.isFinite(diff)) {
    result.needSamples = needSamples;
    return result;
  }
  const alpha = 1 - confidence;
  let low: number;
  let high: number;
  if (base.runs.length === 1 && next.runs.length === 1) {
    const a = base.runs[0].replicates;
    const b = next.runs[0].replicates;
    const d = new Float64Array(Math.min(a.length, b.length));
    for (let i = 0; i < d.length; i++) d[i] = b[i] - a[i];
    d.sort();
    // The percentile interval, moved to centre on the pooled difference
    // (the replicates sit on the fine grid; the pooled figures are the table's).
    const centre = sortedQuantile(d, 0.5);
    low = diff + sortedQuantile(d, alpha / 2) - centre;
    high = diff + sortedQuantile(d, 1 - alpha / 2) - centre;
    result.method = "within one run";
  } else {
    const within = (side: SideStatistic) =>
      side.runs.reduce((a, r) => a + variance(r.replicates), 0) / side.runs.length;
    const between = (side: SideStatistic) =>
      Math.max(variance(side.runs.map((r) => r.value)), within(side));
    const ra = base.runs.length;
    const rb = next.runs.length;
    let se: number;
    let df: number;
    if (ra >= 2 && rb >= 2) {
      const va = between(base) / ra;
      const vb = between(next) / rb;
      se = Math.sqrt(va + vb);
      // Hsu's conservative degrees of freedom, min(runs) − 1: the level holds
      // whatever the ratio of the two sides' variances, where Welch's
      // estimated df is optimistic with a handful of runs.
      df = Math.min(ra, rb) - 1;
    } else {
      // One side has a single run: its run-to-run variance is taken to be the other side's.
      const many = ra >= 2 ? base : next;
      const s2 = Math.max(between(many), within(ra >= 2 ? next : base));
      se = Math.sqrt(s2 * (1 / ra + 1 / rb));
      df = Math.max(ra, rb) - 1;
    }
    const t = studentTQuantile(1 - alpha / 2, df);
    low = diff - t * se;
    high = diff + t * se;
    result.method = "between runs";
    result.df = df;
  }
  result.low = low;
  result.high = high;
  const excludesZero = low > 0 || high < 0;
  if (!excludesZero) {
    result.verdict = "no difference";
    const half = (high - low) / 2;
    if (diff !== 0) result.moreDataFactor = (half / Math.abs(diff)) ** 2;
  } else if (result.method === "within one run") {
    result.verdict = "need more runs";
  } else {
    result.verdict = (diff > 0) === lowerIsBetter ? "worse" : "better";
  }
  return result;
}
