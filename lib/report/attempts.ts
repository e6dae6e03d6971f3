/**
 * Streaming aggregation of timed attempts, the rows of latency.csv (round
 * trips) and connect.csv (connection set-ups): an exact HDR histogram of
 * the run, log histograms per time bin, per worker and per connection,
 * errors by kind, and a bounded uniform sample for the scatter plot.
 * Memory is bounded whatever the run length: time bins widen (1 ms,
 * 10 ms, 100 ms, 1 s, 2 s, 4 s …) when a run would need more than
 * `maxBins` of them. Runs over 30 s are shown per second (wider bins only
 * past `maxBins` seconds); shorter ones in about 60 bins of 1 to 500 ms.
 *
 * @module
 */
import { createHistogram, type Histogram, type LatencyStats, latencyStats } from "../histogram.ts";
import type { CsvRow } from "./csv_stream.ts";
import { bucketIndex, LogHistogram } from "./log_histogram.ts";
import { Reservoir } from "./reservoir.ts";
import { displayBins, type HistogramBin, percentileSpectrum, type SpectrumPoint } from "./stats.ts";
import { type HistogramBlocks, TimeBlocks } from "../compare/blocks.ts";

/** Column indexes of an attempts CSV; `connection` is absent in connect.csv. */
export interface AttemptColumns {
  worker: number;
  connection?: number;
  startUs: number;
  /** `rtt_us` or `connect_us`. */
  valueUs: number;
  error: number;
  /** The value column's name, for messages. */
  valueName: string;
}

/** Limits of what one run's aggregate keeps. */
export interface AttemptLimits {
  /** Points of the uniform sample. @default {20000} */
  sampleCapacity: number;
  /** Time bins stored at most (1 ms, 10 ms, 100 ms, then 1 s, 2 s … wide). @default {3600} */
  maxBins: number;
}

/** Defaults of {@linkcode AttemptLimits}: per-second bins for runs up to an hour. */
export const DEFAULT_ATTEMPT_LIMITS: Readonly<AttemptLimits> = Object.freeze({
  sampleCapacity: 20_000,
  maxBins: 3600,
});

/** Display bins a short run is split into, about: a run over 30 s gets 1 s bins. */
const TARGET_BINS = 60;
/** Widths of display bins below a second, ms. */
const DISPLAY_BIN_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

/** A start time beyond a year (µs) cannot come from a run. */
const MAX_START_US = 365 * 24 * 3600 * 1e6;

/** Figures of one time bin. */
export interface TimeBin {
  /** Seconds since the run started. */
  startS: number;
  endS: number;
  /** Successful attempts that started in the bin. */
  count: number;
  /** Failed attempts that started in the bin. */
  failed: number;
  /** Successful and failed attempts per second over the part of the bin the run covered. */
  perSec: number;
  failedPerSec: number;
  /** Failed attempts by kind. */
  errors: Record<string, number>;
  /**
   * Percentiles of the bin (within 0.6%), µs; null when nothing succeeded
   * in it (charts break their lines there).
   */
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  maxUs: number | null;
}

/** The distribution of one worker's or one connection's values. */
export interface GroupStats {
  /** Worker or connection id. */
  id: number;
  worker: number;
  count: number;
  failed: number;
  minUs: number;
  p25Us: number;
  p50Us: number;
  p75Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

/** One point of the scatter sample. */
export interface SamplePoint {
  /** Start, seconds since the run started. */
  t: number;
  valueUs: number;
  worker: number;
  connection: number;
}

/** Everything a report shows of one attempts run; plain data. */
export interface AttemptsData {
  attempts: number;
  successes: number;
  failures: number;
  /** Failed attempts by kind. */
  errors: Record<string, number>;
  /** Seconds from the first start to the last end seen in the CSV. */
  spanSeconds: number;
  firstStartS: number;
  lastEndS: number;
  /** Successes per second over the span. */
  ratePerSec: number;
  /** Exact (HDR, 0.1%) figures, µs. */
  stats: LatencyStats;
  /** Successful values in time-window blocks, for `compare`'s block bootstrap. */
  blocks: HistogramBlocks;
  spectrum: SpectrumPoint[];
  histogram: HistogramBin[];
  /** Width of the time bins, seconds. */
  binSeconds: number;
  bins: TimeBin[];
  sample: SamplePoint[];
  /** Successes the sample was drawn from. */
  sampleOf: number;
  workers: GroupStats[];
  /** Per connection (empty for connect runs); see `connectionsTotal`. */
  connections: GroupStats[];
  /** Connections in the run; more than `connections.length` when only the notable ones are kept. */
  connectionsTotal: number;
}

interface Group {
  worker: number;
  failed: number;
  histogram: LogHistogram;
}

/** Folds rows into the aggregate; {@linkcode add} says why a row is unusable. */
export class AttemptsAggregator {
  readonly #columns: AttemptColumns;
  readonly #limits: AttemptLimits;
  readonly #run: Histogram = createHistogram();
  readonly #blocks = new TimeBlocks();
  /** Width of the stored time bins, ms: 1 ms at first, then 10 ms, 100 ms, 1 s, 2 s, 4 s … */
  #binMs = 1;
  #binHistograms: (LogHistogram | undefined)[] = [];
  #binFailed: number[] = [];
  #binErrors: (Record<string, number> | undefined)[] = [];
  readonly #workers = new Map<number, Group>();
  readonly #connections = new Map<number, Group>();
  readonly #errors: Record<string, number> = {};
  readonly #sample: Reservoir;
  #attempts = 0;
  #failures = 0;
  #firstStartUs = Infinity;
  #lastEndUs = -Infinity;

  /** Aggregates rows laid out as `columns`. */
  constructor(columns: AttemptColumns, limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS) {
    this.#columns = columns;
    this.#limits = limits;
    this.#sample = new Reservoir(limits.sampleCapacity, 4);
  }

  /** Adds a row; returns null, or why the row was skipped. */
  add(row: CsvRow): string | null {
    const c = this.#columns;
    const startUs = row.number(c.startUs);
    if (!(startUs >= 0 && startUs < MAX_START_US)) {
      return `start_us ${describe(row, c.startUs)} is not a time since the start`;
    }
    const worker = row.number(c.worker);
    if (!Number.isInteger(worker) || worker < 0) {
      return `worker ${describe(row, c.worker)} is not a worker number`;
    }
    let connection = -1;
    if (c.connection !== undefined) {
      connection = row.number(c.connection);
      if (!Number.isInteger(connection) || connection < 0) {
        return `connection ${describe(row, c.connection)} is not a connection number`;
      }
    }
    const error = row.isEmpty(c.error) ? "" : row.text(c.error).trim();
    let valueUs = NaN;
    if (error === "") {
      valueUs = row.number(c.valueUs);
      if (!(valueUs >= 0 && Number.isFinite(valueUs))) {
        return `${c.valueName} ${describe(row, c.valueUs)} is not a duration and error is empty`;
      }
    }

    this.#attempts++;
    if (startUs < this.#firstStartUs) this.#firstStartUs = startUs;
    const endUs = error === "" ? startUs + valueUs : startUs;
    if (endUs > this.#lastEndUs) this.#lastEndUs = endUs;
    const bin = this.#binOf(startUs);
    const workerGroup = groupOf(this.#workers, worker, worker);
    const connectionGroup = connection >= 0
      ? groupOf(this.#connections, connection, worker)
      : undefined;
    if (error !== "") {
      this.#failures++;
      this.#errors[error] = (this.#errors[error] ?? 0) + 1;
      this.#binFailed[bin] = (this.#binFailed[bin] ?? 0) + 1;
      const kinds = this.#binErrors[bin] ??= {};
      kinds[error] = (kinds[error] ?? 0) + 1;
      workerGroup.failed++;
      if (connectionGroup) connectionGroup.failed++;
      return null;
    }
    // The HDR histogram keeps whole nanoseconds, as lib/histogram.ts records them.
    this.#run.recordValue(Math.max(1, Math.round(valueUs * 1000)));
    this.#blocks.add(startUs, valueUs);
    const index = bucketIndex(valueUs);
    (this.#binHistograms[bin] ??= new LogHistogram()).add(valueUs, index);
    workerGroup.histogram.add(valueUs, index);
    connectionGroup?.histogram.add(valueUs, index);
    const slot = this.#sample.offer();
    if (slot >= 0) {
      const [t, v, w, k] = this.#sample.columns;
      t[slot] = startUs / 1e6;
      v[slot] = valueUs;
      w[slot] = worker;
      k[slot] = connection;
    }
    return null;
  }

  /** Index of the time bin of `startUs`, widening every bin when the run outgrows them. */
  #binOf(startUs: number): number {
    let bin = Math.floor(startUs / 1000 / this.#binMs);
    while (bin >= this.#limits.maxBins) {
      const factor = this.#binMs < 1000 ? 10 : 2;
      this.#mergeBins(factor);
      this.#binMs *= factor;
      bin = Math.floor(startUs / 1000 / this.#binMs);
    }
    return bin;
  }

  /** Merges every `factor` consecutive bins: histograms add exactly, so nothing is approximated. */
  #mergeBins(factor: number): void {
    const histograms: (LogHistogram | undefined)[] = [];
    const failed: number[] = [];
    const errors: (Record<string, number> | undefined)[] = [];
    const length = Math.max(
      this.#binHistograms.length,
      this.#binFailed.length,
      this.#binErrors.length,
    );
    for (let i = 0; i < length; i++) {
      const j = Math.floor(i / factor);
      const h = this.#binHistograms[i];
      if (h) {
        if (histograms[j]) histograms[j]!.merge(h);
        else histograms[j] = h;
      }
      if (this.#binFailed[i]) failed[j] = (failed[j] ?? 0) + this.#binFailed[i];
      const e = this.#binErrors[i];
      if (e) {
        const target = errors[j] ??= {};
        for (const [kind, n] of Object.entries(e)) target[kind] = (target[kind] ?? 0) + n;
      }
    }
    this.#binHistograms = histograms;
    this.#binFailed = failed;
    this.#binErrors = errors;
  }

  /**
   * The aggregate. `maxConnections` bounds the per-connection rows: beyond
   * it, the connections with the highest p99, the fewest successes and the
   * most failures are kept, as those are the ones a reader looks for.
   */
  finish(maxConnections = 2000): AttemptsData {
    const successes = this.#run.totalCount;
    const firstStartS = this.#attempts > 0 ? this.#firstStartUs / 1e6 : 0;
    const lastEndS = this.#attempts > 0 ? this.#lastEndUs / 1e6 : 0;
    const spanSeconds = Math.max(0, lastEndS - firstStartS);
    const all = new LogHistogram();
    for (const group of this.#workers.values()) all.merge(group.histogram);

    // Short runs get finer bins than a second, so their charts still show a shape.
    if (this.#binMs < 1000) {
      const targetMs = spanSeconds * 1000 / TARGET_BINS;
      // 5% slack: a 3.0001 s run gets 60 bins of 50 ms, not 30 of 100 ms.
      const displayMs = DISPLAY_BIN_MS.find((ms) => ms * 1.05 >= targetMs && ms >= this.#binMs) ??
        1000;
      this.#mergeBins(displayMs / this.#binMs);
      this.#binMs = displayMs;
    }
    const binSeconds = this.#binMs / 1000;
    const bins: TimeBin[] = [];
    const binCount = Math.max(this.#binHistograms.length, this.#binFailed.length);
    // Bins between the first and the last with attempts are kept even when
    // empty: a chart must show a gap (a SYN retry's second) as a gap or a
    // zero, never as a line drawn across it.
    const filled = (i: number) =>
      this.#binHistograms[i] !== undefined || (this.#binFailed[i] ?? 0) > 0;
    let firstBin = 0;
    while (firstBin < binCount && !filled(firstBin)) firstBin++;
    for (let i = firstBin; i < binCount; i++) {
      const h = this.#binHistograms[i];
      const failed = this.#binFailed[i] ?? 0;
      const startS = i * binSeconds;
      const endS = startS + binSeconds;
      // The first and last bins are partly outside the run: rates use the covered part.
      const covered = Math.min(endS, lastEndS) - Math.max(startS, firstStartS);
      const seconds = covered > binSeconds / 100 ? covered : binSeconds;
      const count = h?.count ?? 0;
      bins.push({
        startS,
        endS,
        count,
        failed,
        perSec: count / seconds,
        failedPerSec: failed / seconds,
        errors: this.#binErrors[i] ?? {},
        p50Us: h ? h.valueAt(0.5) : null,
        p90Us: h ? h.valueAt(0.9) : null,
        p99Us: h ? h.valueAt(0.99) : null,
        maxUs: h ? h.maxUs : null,
      });
    }

    const sample: SamplePoint[] = [];
    const [t, v, w, k] = this.#sample.columns;
    for (let i = 0; i < this.#sample.size; i++) {
      sample.push({ t: t[i], valueUs: v[i], worker: w[i], connection: k[i] });
    }
    sample.sort((a, b) => a.t - b.t);

    const connections = [...this.#connections].map(([id, g]) => groupStats(id, g));
    return {
      attempts: this.#attempts,
      successes,
      failures: this.#failures,
      errors: { ...this.#errors },
      spanSeconds,
      firstStartS,
      lastEndS,
      ratePerSec: spanSeconds > 0 ? successes / spanSeconds : 0,
      stats: latencyStats(this.#run),
      blocks: this.#blocks.finish(),
      spectrum: percentileSpectrum(this.#run),
      histogram: displayBins(all),
      binSeconds,
      bins,
      sample,
      sampleOf: this.#sample.offered,
      workers: [...this.#workers].map(([id, g]) => groupStats(id, g)).sort((a, b) => a.id - b.id),
      connections: notableConnections(connections, maxConnections),
      connectionsTotal: connections.length,
    };
  }
}

function groupOf(groups: Map<number, Group>, id: number, worker: number): Group {
  let group = groups.get(id);
  if (!group) {
    group = { worker, failed: 0, histogram: new LogHistogram() };
    groups.set(id, group);
  }
  return group;
}

function groupStats(id: number, g: Group): GroupStats {
  const h = g.histogram;
  return {
    id,
    worker: g.worker,
    count: h.count,
    failed: g.failed,
    minUs: h.count ? h.minUs : 0,
    p25Us: h.valueAt(0.25),
    p50Us: h.valueAt(0.5),
    p75Us: h.valueAt(0.75),
    p99Us: h.valueAt(0.99),
    maxUs: h.count ? h.maxUs : 0,
    meanUs: h.meanUs,
  };
}

/**
 * All connections when they fit; else the notable ones (highest p99, fewest
 * successes, most failures, a third each), sorted by id.
 */
export function notableConnections(all: GroupStats[], max: number): GroupStats[] {
  if (all.length <= max) return [...all].sort((a, b) => a.id - b.id);
  const kept = new Set<GroupStats>();
  const third = Math.ceil(max / 3);
  const orders = [
    [...all].sort((a, b) => b.p99Us - a.p99Us),
    [...all].sort((a, b) => a.count - b.count),
    [...all].sort((a, b) => b.failed - a.failed),
  ];
  orders.forEach((sorted, k) => {
    const limit = Math.min(max, third * (k + 1));
    for (const g of sorted) {
      if (kept.size >= limit) break;
      kept.add(g);
    }
  });
  return [...kept].sort((a, b) => a.id - b.id);
}

function describe(row: CsvRow, i: number): string {
  return row.isEmpty(i) ? "(empty)" : `"${row.text(i)}"`;
}
