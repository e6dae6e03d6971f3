/**
 * Pieces every summary shares: the percentile cells of the terminal
 * tables, and the warnings that say when a figure should not be trusted
 * (thin percentiles, a client out of CPU, an interrupted run). Pure.
 *
 * @module
 */
import type { LatencyStats } from "./histogram.ts";
import type { ClientCpu } from "./worker_group.ts";
import { formatCount, formatUs } from "./table.ts";

/** Share of all cores above which the client, not the path, may set the pace. */
export const CPU_SATURATION_SHARE = 0.9;

/** The warning of every run stopped by a signal. */
export const INTERRUPTED_WARNING =
  "Interrupted: the figures cover only what was measured before the stop";

/**
 * The warning of a run stopped by a signal; a stop in the warm-up or the
 * wait for `--start-at` measured nothing, and its "0.00 s" must not read
 * as a measurement.
 */
export function interruptedWarning(measuredAny: boolean): string {
  return measuredAny
    ? INTERRUPTED_WARNING
    : "Interrupted before measuring began (in the warm-up or the wait for the start): nothing was measured";
}

/** Process CPU time as a share of all cores over `seconds` of wall time. */
export function shareOfCores(cpu: ClientCpu): number {
  return cpu.seconds > 0 ? (cpu.userSeconds + cpu.systemSeconds) / cpu.seconds / cpu.cores : 0;
}

/** Warns when the client used most of the machine; `consequence` says what that skews. */
export function cpuWarning(share: number, cores: number, consequence: string): string | undefined {
  if (share < CPU_SATURATION_SHARE) return undefined;
  return `The client used ${
    (share * 100).toFixed(0)
  }% of ${cores} cores: it may have run out of CPU, so ${consequence}`;
}

/** Warns about percentiles with too few samples beyond them; `noun` names the samples. */
export function thinPercentilesWarning(stats: LatencyStats, noun: string): string | undefined {
  if (stats.untrustedPercentiles.length === 0 || stats.count === 0) return undefined;
  return `${stats.untrustedPercentiles.join(", ")} rest on fewer than 10 samples each (${
    formatCount(stats.count)
  } ${noun}): do not trust them`;
}

/** A column of figures from {@linkcode LatencyStats}, titled as tables print it. */
export type StatColumn =
  | "min"
  | "mean"
  | "stddev"
  | "p50"
  | "p90"
  | "p99"
  | "p99.9"
  | "p99.99"
  | "max";

/** Every column, in table order. */
export const ALL_STAT_COLUMNS: readonly StatColumn[] = [
  "min",
  "mean",
  "stddev",
  "p50",
  "p90",
  "p99",
  "p99.9",
  "p99.99",
  "max",
];

const VALUE_OF: Record<StatColumn, (s: LatencyStats) => number> = {
  min: (s) => s.minUs,
  mean: (s) => s.meanUs,
  stddev: (s) => s.stddevUs,
  p50: (s) => s.p50Us,
  p90: (s) => s.p90Us,
  p99: (s) => s.p99Us,
  "p99.9": (s) => s.p999Us,
  "p99.99": (s) => s.p9999Us,
  max: (s) => s.maxUs,
};

/**
 * Cells of the chosen columns in µs; a percentile with too few samples
 * beyond it gets a `*`, and an empty set of samples shows "-".
 */
export function statCells(
  stats: LatencyStats,
  columns: readonly StatColumn[] = ALL_STAT_COLUMNS,
): string[] {
  return columns.map((column) => {
    if (stats.count === 0) return "-";
    const mark = stats.untrustedPercentiles.includes(column) ? "*" : "";
    return formatUs(VALUE_OF[column](stats)) + mark;
  });
}
