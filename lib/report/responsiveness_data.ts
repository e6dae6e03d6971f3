/**
 * Streaming aggregation of responsiveness.csv (one row per probe time,
 * with its phase, idle or loaded) and the facts of the JSON beside it that
 * the CSV cannot tell: when the load started and ended exactly, the load's
 * throughput per interval, and the RPM the run computed.
 *
 * Memory is bounded whatever the run length: an exact HDR histogram and a
 * log histogram per phase and probe kind, log histograms per time bin and
 * probe kind (bins widen when a run outgrows them), a bounded uniform
 * sample of successes and one of failures for the scatter, and the loaded
 * probes of the last {@linkcode RPM_WINDOW_MS} for the loaded RPM.
 *
 * @module
 */
import { createHistogram, type Histogram, type LatencyStats, latencyStats } from "../histogram.ts";
import type { Phase } from "../responsiveness/csv_rows.ts";
import type { ProbeKind } from "../responsiveness/probes.ts";
import {
  roundTripsPerMinute,
  RPM_WINDOW_MS,
  rpmWindow,
  TRIMMED_MEAN_PERCENTILE,
  trimmedMean,
  weightedRoundTripMs,
} from "../responsiveness/rpm.ts";
import { PROBE_KINDS } from "../responsiveness/summary.ts";
import type { CsvRow } from "./csv_stream.ts";
import { bucketIndex, LogHistogram } from "./log_histogram.ts";
import { Reservoir } from "./reservoir.ts";
import { type HistogramBlocks, TimeBlocks } from "../compare/blocks.ts";

export { PROBE_KINDS };

/** The phases in report order. */
export const PHASES: readonly Phase[] = ["idle", "loaded"];

/** Column indexes of responsiveness.csv; `connection` and `seq` may be absent. */
export interface ResponsivenessColumns {
  phase: number;
  probe: number;
  connection?: number;
  startUs: number;
  rttUs: number;
  error: number;
}

/** Limits of what one run's aggregate keeps. */
export interface ResponsivenessLimits {
  /** Successful probes kept for the scatter. */
  sampleCapacity: number;
}

/** Failed probes kept for the scatter, at most. */
const FAILED_SAMPLE_CAPACITY = 2000;
/** Display bins a run is split into, about: at 50 probes of each kind a second, 4 to 8 per bin in a 10 s run. */
const TARGET_BINS = 60;
/** Width of the stored time bins at first, ms; doubled whenever a run outgrows them. */
const FIRST_BIN_MS = 10;
/**
 * Time bins stored per probe kind at most: enough to merge into about
 * {@linkcode TARGET_BINS} of the right width at the end, few enough that
 * their log histograms stay small.
 */
const MAX_STORED_BINS = 8 * TARGET_BINS;
/** A start time beyond a year (µs) cannot come from a run. */
const MAX_START_US = 365 * 24 * 3600 * 1e6;

/** One probe kind in one phase: exact (HDR, 0.1%) figures in µs. */
export interface ProbeCell {
  phase: Phase;
  probe: ProbeKind;
  stats: LatencyStats;
  /** Quartiles for the box plot, µs (0 when empty). */
  p25Us: number;
  p75Us: number;
  failed: number;
  /** Failures by kind. */
  errors: Record<string, number>;
  /** Successful times in time-window blocks, for `compare`'s block bootstrap. */
  blocks: HistogramBlocks;
}

/** The median of one probe kind over one time bin. */
export interface ProbeBin {
  probe: ProbeKind;
  /** Seconds since the run started. */
  startS: number;
  endS: number;
  count: number;
  /** Within 0.6%. */
  p50Us: number | null;
}

/** One successful probe of the scatter sample. */
export interface ProbePoint {
  /** Start, seconds since the run started. */
  t: number;
  rttUs: number;
  probe: ProbeKind;
  phase: Phase;
}

/** One failed probe of the scatter sample. */
export interface FailedProbePoint {
  t: number;
  probe: ProbeKind;
  error: string;
}

/** Where the load was: exactly from the JSON, else guessed from the CSV's phases. */
export interface LoadWindow {
  /** Seconds since the run started. */
  startS: number;
  endS: number;
  source: "json" | "csv";
}

/** The load's throughput over one interval (from the JSON), seconds since the run started. */
export interface LoadInterval {
  startS: number;
  endS: number;
  upBitsPerSec: number;
  downBitsPerSec: number;
}

/** The load as the JSON summary tells it. */
export interface LoadFacts {
  upBitsPerSec: number;
  downBitsPerSec: number;
  streamsPerDirection: number | null;
  liveStreams: number | null;
  failedStreams: number | null;
  /** At most {@linkcode MAX_LOAD_INTERVALS}: consecutive ones merged when there were more. */
  intervals: LoadInterval[];
  /** Intervals of the JSON per one of `intervals`. */
  mergedBy: number;
}

/** Load intervals a chart draws at most (an hour of 250 ms intervals is 14 400). */
export const MAX_LOAD_INTERVALS = 600;

/** Round trips per minute of one phase, and what they rest on. */
export interface RpmResult {
  /** null when a probe kind had no sample. */
  rpm: number | null;
  /** The weighted round trip behind it, ms. */
  roundTripMs: number | null;
  /** The part of the run aggregated, seconds since the run started. */
  fromS: number;
  toS: number;
  /** "json": as the run computed it; "csv": recomputed here from the rows. */
  source: "json" | "csv";
}

/** RPM of each phase; `loaded` is null when the run had no loaded phase. */
export interface PhaseRpm {
  idle: RpmResult | null;
  loaded: RpmResult | null;
}

/** What the JSON summary beside the CSV says that the report uses. */
export interface ResponsivenessJsonFacts {
  loadStartUs: number | null;
  loadEndUs: number | null;
  load: LoadFacts | null;
  rpm: PhaseRpm;
}

/** Everything a report shows of one responsiveness run; plain data. */
export interface ResponsivenessData {
  /** Probe times in the CSV, successful and failed. */
  probes: number;
  successes: number;
  failures: number;
  firstStartS: number;
  /** Seconds from the run's start to the last probe's end. */
  lastEndS: number;
  /** Per phase and probe kind, in {@linkcode PHASES} × {@linkcode PROBE_KINDS} order. */
  cells: ProbeCell[];
  /** Width of the time bins, seconds. */
  binSeconds: number;
  bins: ProbeBin[];
  sample: ProbePoint[];
  /** Successes the sample was drawn from. */
  sampleOf: number;
  failedSample: FailedProbePoint[];
  load: LoadWindow | null;
  loadFacts: LoadFacts | null;
  /** The RPM the report shows: the run's own when its JSON has it, else the CSV's. */
  rpm: PhaseRpm;
  /** The RPM recomputed from the CSV, to check the JSON's against. */
  csvRpm: PhaseRpm;
}

interface Cell {
  hdr: Histogram;
  log: LogHistogram;
  blocks: TimeBlocks;
  failed: number;
  errors: Record<string, number>;
}

interface WindowSample {
  startUs: number;
  rttUs: number;
  kind: number;
}

/** Folds rows into the aggregate; {@linkcode add} says why a row is unusable. */
export class ResponsivenessAggregator {
  readonly #columns: ResponsivenessColumns;
  readonly #cells: Cell[] = PHASES.flatMap(() =>
    PROBE_KINDS.map(() => ({
      hdr: createHistogram(),
      log: new LogHistogram(),
      blocks: new TimeBlocks(),
      failed: 0,
      errors: {},
    }))
  );
  #binMs = FIRST_BIN_MS;
  /** Per probe kind, a log histogram per time bin. */
  #bins: (LogHistogram | undefined)[][] = PROBE_KINDS.map(() => []);
  readonly #sample: Reservoir;
  readonly #failedSample = new Reservoir(FAILED_SAMPLE_CAPACITY, 3, 2);
  readonly #errorNames: string[] = [];
  /** Loaded successes that may fall in the loaded RPM's window (the last 4 s of load). */
  #window: WindowSample[] = [];
  #windowHead = 0;
  #probes = 0;
  #failures = 0;
  #firstStartUs = Infinity;
  #lastEndUs = -Infinity;
  #firstLoadedUs = Infinity;
  #lastLoadedUs = -Infinity;

  /** Aggregates rows laid out as `columns`. */
  constructor(columns: ResponsivenessColumns, limits: ResponsivenessLimits) {
    this.#columns = columns;
    this.#sample = new Reservoir(limits.sampleCapacity, 4, 3);
  }

  /** Adds a row; returns null, or why the row was skipped. */
  add(row: CsvRow): string | null {
    const c = this.#columns;
    const phaseText = row.text(c.phase).trim();
    const phase = PHASES.indexOf(phaseText as Phase);
    if (phase < 0) return `phase "${phaseText}" is neither idle nor loaded`;
    const probeText = row.text(c.probe).trim();
    const kind = PROBE_KINDS.indexOf(probeText as ProbeKind);
    if (kind < 0) return `probe "${probeText}" is not one of ${PROBE_KINDS.join(", ")}`;
    const startUs = row.number(c.startUs);
    if (!(startUs >= 0 && startUs < MAX_START_US)) {
      return `start_us ${describe(row, c.startUs)} is not a time since the start`;
    }
    const error = row.isEmpty(c.error) ? "" : row.text(c.error).trim();
    let rttUs = NaN;
    if (error === "") {
      rttUs = row.number(c.rttUs);
      if (!(rttUs >= 0 && Number.isFinite(rttUs))) {
        return `rtt_us ${describe(row, c.rttUs)} is not a duration and error is empty`;
      }
    }

    this.#probes++;
    if (startUs < this.#firstStartUs) this.#firstStartUs = startUs;
    const endUs = error === "" ? startUs + rttUs : startUs;
    if (endUs > this.#lastEndUs) this.#lastEndUs = endUs;
    if (phase === 1) {
      if (startUs < this.#firstLoadedUs) this.#firstLoadedUs = startUs;
      if (startUs > this.#lastLoadedUs) this.#lastLoadedUs = startUs;
    }
    const cell = this.#cells[phase * PROBE_KINDS.length + kind];
    if (error !== "") {
      this.#failures++;
      cell.failed++;
      cell.errors[error] = (cell.errors[error] ?? 0) + 1;
      const slot = this.#failedSample.offer();
      if (slot >= 0) {
        let e = this.#errorNames.indexOf(error);
        if (e < 0) e = this.#errorNames.push(error) - 1;
        const [t, k, n] = this.#failedSample.columns;
        t[slot] = startUs / 1e6;
        k[slot] = kind;
        n[slot] = e;
      }
      return null;
    }
    // Whole nanoseconds, as lib/histogram.ts records them.
    cell.hdr.recordValue(Math.max(1, Math.round(rttUs * 1000)));
    const index = bucketIndex(rttUs);
    cell.log.add(rttUs, index);
    cell.blocks.add(startUs, rttUs);
    // The bin first: finding it may widen the bins, replacing their arrays.
    const bin = this.#binOf(startUs);
    (this.#bins[kind][bin] ??= new LogHistogram()).add(rttUs, index);
    const slot = this.#sample.offer();
    if (slot >= 0) {
      const [t, v, k, p] = this.#sample.columns;
      t[slot] = startUs / 1e6;
      v[slot] = rttUs;
      k[slot] = kind;
      p[slot] = phase;
    }
    if (phase === 1) this.#keepForWindow({ startUs, rttUs, kind });
    return null;
  }

  /**
   * Keeps a loaded success while it may be in the loaded RPM's window. The
   * window ends at the load's end, which is after every loaded probe's
   * start, so a probe that started more than the window's length before
   * the latest loaded start cannot be in it.
   */
  #keepForWindow(sample: WindowSample): void {
    this.#window.push(sample);
    const oldestUs = this.#lastLoadedUs - RPM_WINDOW_MS * 1000;
    while (
      this.#windowHead < this.#window.length && this.#window[this.#windowHead].startUs < oldestUs
    ) this.#windowHead++;
    // Rows come roughly in start order: compact once the dropped part dominates.
    if (this.#windowHead > 1024 && this.#windowHead * 2 > this.#window.length) {
      this.#window = this.#window.slice(this.#windowHead);
      this.#windowHead = 0;
    }
  }

  /** Index of the time bin of `startUs`, doubling every bin's width when the run outgrows them. */
  #binOf(startUs: number): number {
    let bin = Math.floor(startUs / 1000 / this.#binMs);
    while (bin >= MAX_STORED_BINS) {
      this.#mergeBins(2);
      this.#binMs *= 2;
      bin = Math.floor(startUs / 1000 / this.#binMs);
    }
    return bin;
  }

  /** Merges every `factor` consecutive bins: histograms add exactly. */
  #mergeBins(factor: number): void {
    this.#bins = this.#bins.map((bins) => {
      const merged: (LogHistogram | undefined)[] = [];
      bins.forEach((h, i) => {
        if (!h) return;
        const j = Math.floor(i / factor);
        if (merged[j]) merged[j]!.merge(h);
        else merged[j] = h;
      });
      return merged;
    });
  }

  /** The aggregate, with what the JSON beside the CSV said (null when there was none). */
  finish(json: ResponsivenessJsonFacts | null): ResponsivenessData {
    const firstStartS = this.#probes > 0 ? this.#firstStartUs / 1e6 : 0;
    const lastEndS = this.#probes > 0 ? this.#lastEndUs / 1e6 : 0;

    // Display bins: about TARGET_BINS over the run, in widths of 10 ms × 2^k.
    const targetMs = lastEndS * 1000 / TARGET_BINS;
    let factor = 1;
    while (this.#binMs * factor * 2 <= targetMs * 1.05) factor *= 2;
    if (factor > 1) {
      this.#mergeBins(factor);
      this.#binMs *= factor;
    }
    const binSeconds = this.#binMs / 1000;
    const bins: ProbeBin[] = [];
    this.#bins.forEach((list, k) => {
      // Empty bins between the first and the last become nulls, so that the
      // median line breaks at a gap instead of bridging it.
      const used = (h: LogHistogram | undefined) => h !== undefined && h.count > 0;
      const first = list.findIndex(used);
      if (first === -1) return;
      for (let i = first; i < list.length; i++) {
        const h = list[i];
        bins.push({
          probe: PROBE_KINDS[k],
          startS: i * binSeconds,
          endS: (i + 1) * binSeconds,
          count: used(h) ? h!.count : 0,
          p50Us: used(h) ? h!.valueAt(0.5) : null,
        });
      }
    });

    const cells: ProbeCell[] = this.#cells.map((cell, i) => ({
      phase: PHASES[Math.floor(i / PROBE_KINDS.length)],
      probe: PROBE_KINDS[i % PROBE_KINDS.length],
      stats: latencyStats(cell.hdr),
      p25Us: quantileUs(cell.hdr, 25),
      p75Us: quantileUs(cell.hdr, 75),
      failed: cell.failed,
      errors: { ...cell.errors },
      blocks: cell.blocks.finish(),
    }));

    const sample: ProbePoint[] = [];
    {
      const [t, v, k, p] = this.#sample.columns;
      for (let i = 0; i < this.#sample.size; i++) {
        sample.push({ t: t[i], rttUs: v[i], probe: PROBE_KINDS[k[i]], phase: PHASES[p[i]] });
      }
      sample.sort((a, b) => a.t - b.t);
    }
    const failedSample: FailedProbePoint[] = [];
    {
      const [t, k, n] = this.#failedSample.columns;
      for (let i = 0; i < this.#failedSample.size; i++) {
        failedSample.push({ t: t[i], probe: PROBE_KINDS[k[i]], error: this.#errorNames[n[i]] });
      }
      failedSample.sort((a, b) => a.t - b.t);
    }

    const hasLoaded = this.#firstLoadedUs !== Infinity;
    let load: LoadWindow | null = null;
    if (json?.loadStartUs != null && json.loadEndUs != null) {
      load = { startS: json.loadStartUs / 1e6, endS: json.loadEndUs / 1e6, source: "json" };
    } else if (hasLoaded) {
      // Without the JSON, the load ran at least from the first loaded probe to the last.
      load = { startS: this.#firstLoadedUs / 1e6, endS: this.#lastLoadedUs / 1e6, source: "csv" };
    }
    const csvRpm = this.#csvRpm(load);
    const rpm: PhaseRpm = {
      idle: json?.rpm.idle ?? csvRpm.idle,
      loaded: json?.rpm.loaded ?? csvRpm.loaded,
    };
    return {
      probes: this.#probes,
      successes: this.#probes - this.#failures,
      failures: this.#failures,
      firstStartS,
      lastEndS,
      cells,
      binSeconds,
      bins,
      sample,
      sampleOf: this.#sample.offered,
      failedSample,
      load,
      loadFacts: json?.load ?? null,
      rpm,
      csvRpm,
    };
  }

  /**
   * The RPM from the rows, as `netspeed responsiveness` computes it: idle
   * over every idle probe (trimmed means from the log histograms, within
   * 0.6%), loaded over the window {@linkcode rpmWindow} picks (exact).
   */
  #csvRpm(load: LoadWindow | null): PhaseRpm {
    const idleCells = this.#cells.slice(0, PROBE_KINDS.length);
    let idle: RpmResult | null = null;
    if (idleCells.some((c) => c.log.count > 0)) {
      const tm = (k: number) => idleCells[k].log.trimmedMeanUs(TRIMMED_MEAN_PERCENTILE) / 1000;
      idle = rpmResult(tm, 0, load ? load.startS : this.#lastEndUs / 1e6);
    }
    let loaded: RpmResult | null = null;
    if (load && this.#firstLoadedUs !== Infinity) {
      const w = rpmWindow(load.startS * 1000, load.endS * 1000);
      const times: number[][] = PROBE_KINDS.map(() => []);
      for (let i = this.#windowHead; i < this.#window.length; i++) {
        const s = this.#window[i];
        if (s.startUs >= w.fromMs * 1000 && s.startUs < w.toMs * 1000) {
          times[s.kind].push(s.rttUs / 1000);
        }
      }
      loaded = rpmResult((k) => trimmedMean(times[k]), w.fromMs / 1000, w.toMs / 1000);
    }
    return { idle, loaded };
  }
}

/** RPM from the trimmed mean (ms) of each probe kind, by index in {@linkcode PROBE_KINDS}. */
function rpmResult(tmMs: (kind: number) => number, fromS: number, toS: number): RpmResult {
  const of = (kind: ProbeKind) => tmMs(PROBE_KINDS.indexOf(kind));
  const means = {
    tcpForeignMs: of("foreign_connect"),
    echoForeignMs: of("foreign_echo"),
    echoSelfMs: of("self"),
  };
  const rpm = roundTripsPerMinute(means);
  return {
    rpm,
    roundTripMs: rpm === null ? null : weightedRoundTripMs(means),
    fromS,
    toS,
    source: "csv",
  };
}

function quantileUs(h: Histogram, percent: number): number {
  return h.totalCount === 0 ? 0 : Math.min(h.getValueAtPercentile(percent), h.maxValue) / 1000;
}

function describe(row: CsvRow, i: number): string {
  return row.isEmpty(i) ? "(empty)" : `"${row.text(i)}"`;
}

/**
 * Reads what the report uses from a responsiveness JSON summary: the
 * load's start and end, its throughput per interval (made relative to the
 * run's start, as the CSV's times are), and each phase's RPM. Fields of the
 * wrong type are treated as absent. Pure.
 */
export function responsivenessJsonFacts(json: Record<string, unknown>): ResponsivenessJsonFacts {
  const load = record(json.load);
  const loadStartUs = finite(load?.startUs);
  const loadEndUs = finite(load?.endUs);
  let facts: LoadFacts | null = null;
  if (load) {
    const offsetS = (loadStartUs ?? 0) / 1e6;
    const given = Array.isArray(load.intervals) ? load.intervals : [];
    const intervals = loadStartUs === null ? [] : given.flatMap((value) => {
      const i = record(value);
      const startS = finite(i?.startS);
      const endS = finite(i?.endS);
      const up = finite(i?.upBitsPerSec);
      const down = finite(i?.downBitsPerSec);
      if (startS === null || endS === null || up === null || down === null) return [];
      return [{
        startS: offsetS + startS,
        endS: offsetS + endS,
        upBitsPerSec: up,
        downBitsPerSec: down,
      }];
    });
    const mergedBy = Math.max(1, Math.ceil(intervals.length / MAX_LOAD_INTERVALS));
    facts = {
      upBitsPerSec: finite(load.upBitsPerSec) ?? NaN,
      downBitsPerSec: finite(load.downBitsPerSec) ?? NaN,
      streamsPerDirection: finite(load.streamsPerDirection),
      liveStreams: finite(load.liveStreams),
      failedStreams: finite(load.failedStreams),
      intervals: mergeLoadIntervals(intervals, mergedBy),
      mergedBy,
    };
  }
  const phaseRpm = (value: unknown): RpmResult | null => {
    const r = record(record(value)?.responsiveness);
    const fromUs = finite(r?.fromUs);
    const toUs = finite(r?.toUs);
    if (!r || fromUs === null || toUs === null) return null;
    return {
      rpm: finite(r.rpm),
      roundTripMs: finite(r.roundTripMs),
      fromS: fromUs / 1e6,
      toS: toUs / 1e6,
      source: "json",
    };
  };
  return {
    loadStartUs,
    loadEndUs,
    load: facts,
    rpm: { idle: phaseRpm(json.idle), loaded: phaseRpm(json.loaded) },
  };
}

/** Merges every `by` consecutive intervals into one: bits over the time they cover. */
export function mergeLoadIntervals(intervals: readonly LoadInterval[], by: number): LoadInterval[] {
  if (by <= 1) return [...intervals];
  const merged: LoadInterval[] = [];
  for (let i = 0; i < intervals.length; i += by) {
    const group = intervals.slice(i, i + by);
    let seconds = 0;
    let upBits = 0;
    let downBits = 0;
    for (const g of group) {
      const s = Math.max(0, g.endS - g.startS);
      seconds += s;
      upBits += g.upBitsPerSec * s;
      downBits += g.downBitsPerSec * s;
    }
    merged.push({
      startS: group[0].startS,
      endS: group[group.length - 1].endS,
      upBitsPerSec: seconds > 0 ? upBits / seconds : 0,
      downBitsPerSec: seconds > 0 ? downBits / seconds : 0,
    });
  }
  return merged;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : null;
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
