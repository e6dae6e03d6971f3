/**
 * The summary of a connection set-up run: what was asked beside what
 * happened, percentiles of set-up time from the merged HDR histograms,
 * connections per second, failures by kind, a row per worker, and warnings
 * for figures that should not be trusted. Pure: counters and histograms
 * in, data and text out.
 *
 * @module
 */
import { encodeHistogram, type Histogram, type LatencyStats, latencyStats } from "../histogram.ts";
import type { ErrorCounts } from "../error_counts.ts";
import type { RunInfo } from "../run_info.ts";
import { formatCount, formatTable } from "../table.ts";
import { formatHostPort } from "../units.ts";
import {
  ALL_STAT_COLUMNS,
  cpuWarning,
  INTERRUPTED_WARNING,
  shareOfCores,
  statCells,
  thinPercentilesWarning,
} from "../summary_parts.ts";
import type { ConnectOptions } from "./options.ts";
import { resultOfTally, type RunResult, type TallyTiming } from "../results/run_result.ts";

/** Per-worker figures. */
export interface ConnectWorkerSummary {
  worker: number;
  done: number;
  failed: number;
  connectionsPerSec: number;
  connectTime: LatencyStats;
  /** Stopped early after this many failures in a row, or null. */
  gaveUpAfterFailures: number | null;
}

/** The JSON summary of `netspeed connect` (see the README for each field). */
export interface ConnectSummary
  extends RunResult<"connect", Omit<ConnectOptions, "target"> & { target: string }> {
  target: string;
  /** The address connected to: the target's name resolved once before the run. */
  address: string;
  /** "tcp": connect() until established; "tls": that plus the TLS handshake. */
  measures: "tcp" | "tls";
  /** Attempts planned (null when bounded by time). */
  planned: number | null;
  attempts: number;
  /** Connections established. */
  done: number;
  failed: number;
  errors: ErrorCounts;
  /** Seconds from the common start to the last worker's end. */
  measuredSeconds: number;
  /** Connections established per second, each opened and closed before the next. */
  connectionsPerSec: number;
  /** Set-up times in µs, from the merged histogram. */
  connectTime: LatencyStats;
  workers: ConnectWorkerSummary[];
  /** Process CPU time over the run, as a share of all cores. */
  clientCpu: { userSeconds: number; systemSeconds: number; shareOfCores: number; cores: number };
  /** HDR histogram of set-up times (ns), compressed base64: exact percentiles for reports. */
  histogram: string;
  /** CSV file and its data rows, when one was written. */
  csv: { path: string; rows: number } | null;
}

/** What the command counted during the run. */
export interface ConnectTally extends TallyTiming {
  options: ConnectOptions;
  run: RunInfo;
  address: string;
  planned: number | undefined;
  interrupted: boolean;
  measuredSeconds: number;
  merged: Histogram;
  perWorker: { histogram: Histogram; failed: number; gaveUpAfterFailures: number | null }[];
  errors: ErrorCounts;
  cpu: { userSeconds: number; systemSeconds: number; cores: number };
  csv: { path: string; rows: number } | null;
}

/** Builds the summary from the run's tallies. */
export function summarizeConnect(t: ConnectTally): ConnectSummary {
  const stats = latencyStats(t.merged);
  const failed = Object.values(t.errors).reduce((a, b) => a + b, 0);
  const perSec = (n: number) => (t.measuredSeconds > 0 ? n / t.measuredSeconds : 0);
  const cpuShare = shareOfCores(t.cpu, t.measuredSeconds);
  const warnings = [
    thinPercentilesWarning(stats, "connections"),
    cpuWarning(cpuShare, t.cpu.cores, "set-up times include its own queueing"),
  ].filter((w): w is string => w !== undefined);
  t.perWorker.forEach((w, worker) => {
    if (w.gaveUpAfterFailures !== null) {
      warnings.push(
        `Worker ${worker} gave up after ${w.gaveUpAfterFailures} failures in a row`,
      );
    }
  });
  if (t.interrupted) warnings.push(INTERRUPTED_WARNING);
  const { target, ...rest } = t.options;
  const histogram = encodeHistogram(t.merged);
  const measures = t.options.tls ? "tls" : "tcp";
  return {
    ...resultOfTally(t, {
      kind: "connect",
      mode: measures,
      options: { ...rest, target: formatHostPort(target) },
      measuredSeconds: t.measuredSeconds,
      ok: stats.count,
      errors: t.errors,
      histograms: { connect: histogram },
      warnings,
    }),
    target: formatHostPort(target),
    address: formatHostPort({ host: t.address, port: target.port }),
    measures,
    planned: t.planned ?? null,
    attempts: stats.count + failed,
    done: stats.count,
    failed,
    errors: t.errors,
    measuredSeconds: t.measuredSeconds,
    connectionsPerSec: perSec(stats.count),
    connectTime: stats,
    workers: t.perWorker.map(({ histogram, failed, gaveUpAfterFailures }, worker) => {
      const s = latencyStats(histogram);
      return {
        worker,
        done: s.count,
        failed,
        connectionsPerSec: perSec(s.count),
        connectTime: s,
        gaveUpAfterFailures,
      };
    }),
    clientCpu: { ...t.cpu, shareOfCores: cpuShare },
    histogram,
    csv: t.csv,
  };
}

/** Connect times are too few for p99.99 to mean anything in most runs. */
const COLUMNS = ALL_STAT_COLUMNS.filter((c) => c !== "p99.99");
const TABLE_HEADER = ["", "done", "failed", ...COLUMNS, "conn/s"];

function tableRow(name: string, done: number, failed: number, s: LatencyStats, perSec: number) {
  return [
    name,
    formatCount(done),
    formatCount(failed),
    ...statCells(s, COLUMNS),
    formatCount(perSec),
  ];
}

/** The aligned terminal summary. */
export function formatConnectSummary(s: ConnectSummary): string {
  const o = s.options;
  const bound = o.count !== undefined
    ? `${formatCount(o.count)} connections each`
    : `${(o.durationMs ?? 0) / 1000} s`;
  const what = s.measures === "tls"
    ? "connect() until established plus the TLS handshake"
    : "connect() until established";
  const lines = [
    `netspeed connect ${s.target}${
      s.address !== s.target ? ` (${s.address})` : ""
    }: ${what}, ${o.workers} worker${
      o.workers === 1 ? "" : "s"
    } opening one connection at a time, ${bound}`,
    `Connections: planned ${s.planned === null ? "-" : formatCount(s.planned)}, done ${
      formatCount(s.done)
    }, failed ${formatCount(s.failed)} in ${s.measuredSeconds.toFixed(2)} s (${
      formatCount(s.connectionsPerSec)
    } connections/s, each closed before the next)`,
  ];
  const failures = Object.entries(s.errors).filter(([, n]) => n > 0);
  if (failures.length > 0) {
    lines.push(
      `Failures by kind: ${failures.map(([k, n]) => `${k} ${formatCount(n)}`).join(", ")}`,
    );
  }
  lines.push("");
  const rows = [tableRow("all", s.done, s.failed, s.connectTime, s.connectionsPerSec)];
  if (s.workers.length > 1) {
    for (const w of s.workers) {
      rows.push(
        tableRow(`worker ${w.worker}`, w.done, w.failed, w.connectTime, w.connectionsPerSec),
      );
    }
  }
  lines.push(formatTable(TABLE_HEADER, rows));
  lines.push("");
  lines.push(
    "Set-up times in microseconds; * marks a percentile with fewer than 10 samples beyond it.",
  );
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
