/**
 * The run result of a run of timed attempts (latency's round trips,
 * connect's set-ups): the shared model plus the fields both summaries
 * have, built once from what both tallies count. Each kind adds its own
 * names (`rtt` or `connectTime`, per-second rates, its per-worker rows).
 * Pure.
 *
 * @module
 */
import type { ErrorCounts } from "../error_counts.ts";
import type { ClientCpu } from "../worker_group.ts";
import { encodeHistogram, type Histogram, type LatencyStats, latencyStats } from "../histogram.ts";
import {
  cpuWarning,
  interruptedWarning,
  shareOfCores,
  thinPercentilesWarning,
} from "../summary_parts.ts";
import { type ResultKind, resultOfTally, type ResultTally, type RunResult } from "./run_result.ts";

/** What a latency or connect run counted. */
export interface AttemptTally extends ResultTally {
  /** Attempts planned; undefined when bounded by time. */
  planned: number | undefined;
  measuredSeconds: number;
  /** Every worker's histogram of successful attempts, merged. */
  merged: Histogram;
  perWorker: { histogram: Histogram; failed: number }[];
  errors: ErrorCounts;
  cpu: ClientCpu;
}

/** The fields every summary of timed attempts has, beside the shared model. */
export interface AttemptFields {
  /** Attempts planned (null when bounded by time). */
  planned: number | null;
  /** Successful attempts. */
  done: number;
  /** Failed attempts, by kind in `errors`. */
  failed: number;
  errors: ErrorCounts;
  /** Seconds from the common start of measuring to the last worker's end. */
  measuredSeconds: number;
  /** Process CPU time over the measured phase, as a share of all cores. */
  clientCpu: { userSeconds: number; systemSeconds: number; shareOfCores: number; cores: number };
  /** HDR histogram of the successful attempts (ns), compressed base64. */
  histogram: string;
  /** CSV file and its data rows, when one was written. */
  csv: { path: string; rows: number } | null;
}

/** How a kind names its attempts, and what a starved client skews. */
export interface AttemptWords<K extends ResultKind> {
  kind: K;
  mode: string;
  /** Name of the headline histogram in `histograms`: "rtt", "connect". */
  histogramName: string;
  /** Plural noun of the attempts, for warnings: "round trips". */
  noun: string;
  /** What a client out of CPU skews: "latencies include its own queueing". */
  cpuConsequence: string;
  /** The kind's own warnings, after the percentile one and before the CPU one. */
  warnings: string[];
}

/** The summary of timed attempts before the kind's own fields, and the figures those need. */
export interface AttemptSummaryBase<K extends ResultKind, O> {
  result: RunResult<K, O> & AttemptFields;
  /** Figures of every successful attempt, from the merged histogram. */
  stats: LatencyStats;
  /** Per second of the measured phase. */
  perSec(count: number): number;
  /** Each worker's figures, in worker order. */
  workers: { worker: number; done: number; failed: number; stats: LatencyStats }[];
}

/** Builds what latency and connect summaries share from their tally. */
export function summarizeAttempts<K extends ResultKind, O>(
  t: AttemptTally,
  options: O,
  words: AttemptWords<K>,
): AttemptSummaryBase<K, O> {
  const stats = latencyStats(t.merged);
  const failed = Object.values(t.errors).reduce((a, b) => a + b, 0);
  const perSec = (n: number) => (t.measuredSeconds > 0 ? n / t.measuredSeconds : 0);
  const cpuShare = shareOfCores(t.cpu);
  const warnings = [
    thinPercentilesWarning(stats, words.noun),
    ...words.warnings,
    cpuWarning(cpuShare, t.cpu.cores, words.cpuConsequence),
    t.interrupted ? interruptedWarning(stats.count + failed > 0) : undefined,
  ].filter((w): w is string => w !== undefined);
  const histogram = encodeHistogram(t.merged);
  return {
    result: {
      ...resultOfTally(t, {
        kind: words.kind,
        mode: words.mode,
        options,
        measuredSeconds: t.measuredSeconds,
        ok: stats.count,
        errors: t.errors,
        histograms: { [words.histogramName]: histogram },
        warnings,
      }),
      planned: t.planned ?? null,
      done: stats.count,
      failed,
      errors: t.errors,
      measuredSeconds: t.measuredSeconds,
      clientCpu: { ...t.cpu, shareOfCores: cpuShare },
      histogram,
      csv: t.csv,
    },
    stats,
    perSec,
    workers: t.perWorker.map(({ histogram, failed }, worker) => {
      const s = latencyStats(histogram);
      return { worker, done: s.count, failed, stats: s };
    }),
  };
}
