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
import { formatCount, formatTable, formatUs } from "../table.ts";
import { formatHostPort } from "../units.ts";
import type { ConnectOptions } from "./options.ts";

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
export interface ConnectSummary {
  command: "connect";
  run: RunInfo;
  target: string;
  /** The address connected to: the target's name resolved once before the run. */
  address: string;
  /** "tcp": connect() until established; "tls": that plus the TLS handshake. */
  measures: "tcp" | "tls";
  options: Omit<ConnectOptions, "target"> & { target: string };
  /** Attempts planned (null when bounded by time). */
  planned: number | null;
  attempts: number;
  /** Connections established. */
  done: number;
  failed: number;
  errors: ErrorCounts;
  interrupted: boolean;
  /** Seconds from the common start to the last worker's end. */
  measuredSeconds: number;
  /** Connections established per second, each opened and closed before the next. */
  connectionsPerSec: number;
  /** Set-up times in µs, from the merged histogram. */
  connectTime: LatencyStats;
  workers: ConnectWorkerSummary[];
  /** Process CPU time over the run, as a share of all cores. */
  clientCpu: { userSeconds: number; systemSeconds: number; shareOfCores: number; cores: number };
  warnings: string[];
  /** HDR histogram of set-up times (ns), compressed base64: exact percentiles for reports. */
  histogram: string;
  /** CSV file and its data rows, when one was written. */
  csv: { path: string; rows: number } | null;
}

/** What the command counted during the run. */
export interface ConnectTally {
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

/** Share of all cores above which the client, not the server, may set the pace. */
export const CPU_SATURATION_SHARE = 0.9;

/** Builds the summary from the run's tallies. */
export function summarizeConnect(t: ConnectTally): ConnectSummary {
  const stats = latencyStats(t.merged);
  const failed = Object.values(t.errors).reduce((a, b) => a + b, 0);
  const perSec = (n: number) => (t.measuredSeconds > 0 ? n / t.measuredSeconds : 0);
  const shareOfCores = t.measuredSeconds > 0
    ? (t.cpu.userSeconds + t.cpu.systemSeconds) / t.measuredSeconds / t.cpu.cores
    : 0;
  const warnings: string[] = [];
  if (stats.untrustedPercentiles.length > 0 && stats.count > 0) {
    warnings.push(
      `${stats.untrustedPercentiles.join(", ")} rest on fewer than 10 samples each (${
        formatCount(stats.count)
      } connections): do not trust them`,
    );
  }
  if (shareOfCores >= CPU_SATURATION_SHARE) {
    warnings.push(
      `The client used ${
        (shareOfCores * 100).toFixed(0)
      }% of ${t.cpu.cores} cores: it may have run out of CPU, so set-up times include its own queueing`,
    );
  }
  t.perWorker.forEach((w, worker) => {
    if (w.gaveUpAfterFailures !== null) {
      warnings.push(
        `Worker ${worker} gave up after ${w.gaveUpAfterFailures} failures in a row`,
      );
    }
  });
  if (t.interrupted) {
    warnings.push("Interrupted: the figures cover only what was measured before the stop");
  }
  const { target, ...rest } = t.options;
  return {
    command: "connect",
    run: t.run,
    target: formatHostPort(target),
    address: formatHostPort({ host: t.address, port: target.port }),
    measures: t.options.tls ? "tls" : "tcp",
    options: { ...rest, target: formatHostPort(target) },
    planned: t.planned ?? null,
    attempts: stats.count + failed,
    done: stats.count,
    failed,
    errors: t.errors,
    interrupted: t.interrupted,
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
    clientCpu: { ...t.cpu, shareOfCores },
    warnings,
    histogram: encodeHistogram(t.merged),
    csv: t.csv,
  };
}

const STAT_COLUMNS = [
  "done",
  "failed",
  "min",
  "mean",
  "stddev",
  "p50",
  "p90",
  "p99",
  "p99.9",
  "max",
  "conn/s",
];

function statCells(
  name: string,
  done: number,
  failed: number,
  s: LatencyStats,
  perSec: number,
): string[] {
  const pct = (label: string, value: number) =>
    formatUs(value) + (s.untrustedPercentiles.includes(label) ? "*" : "");
  return [
    name,
    formatCount(done),
    formatCount(failed),
    ...(s.count === 0 ? Array(8).fill("-") : [
      formatUs(s.minUs),
      formatUs(s.meanUs),
      formatUs(s.stddevUs),
      pct("p50", s.p50Us),
      pct("p90", s.p90Us),
      pct("p99", s.p99Us),
      pct("p99.9", s.p999Us),
      formatUs(s.maxUs),
    ]),
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
  const rows = [statCells("all", s.done, s.failed, s.connectTime, s.connectionsPerSec)];
  if (s.workers.length > 1) {
    for (const w of s.workers) {
      rows.push(
        statCells(`worker ${w.worker}`, w.done, w.failed, w.connectTime, w.connectionsPerSec),
      );
    }
  }
  lines.push(formatTable(["", ...STAT_COLUMNS], rows));
  lines.push("");
  lines.push(
    "Set-up times in microseconds; * marks a percentile with fewer than 10 samples beyond it.",
  );
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
