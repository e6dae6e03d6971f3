/**
 * The summary of a connection set-up run: what was asked beside what
 * happened, percentiles of set-up time from the merged HDR histograms,
 * connections per second, failures by kind, a row per worker, and warnings
 * for figures that should not be trusted. Pure: counters and histograms
 * in, data and text out.
 *
 * @module
 */
import type { Histogram, LatencyStats } from "../histogram.ts";
import { formatCount, formatTable } from "../table.ts";
import { formatHostPort } from "../units.ts";
import { ALL_STAT_COLUMNS, statCells } from "../summary_parts.ts";
import type { ConnectOptions } from "./options.ts";
import type { RunResult } from "../results/run_result.ts";
import {
  type AttemptFields,
  type AttemptTally,
  summarizeAttempts,
} from "../results/attempt_result.ts";

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
  extends RunResult<"connect", Omit<ConnectOptions, "target"> & { target: string }>, AttemptFields {
  target: string;
  /** The address connected to: the target's name resolved once before the run. */
  address: string;
  /** "tcp": connect() until established; "tls": that plus the TLS handshake. */
  measures: "tcp" | "tls";
  /** Attempts made: established and failed. */
  attempts: number;
  /** Connections established per second, each opened and closed before the next. */
  connectionsPerSec: number;
  /** Set-up times in µs, from the merged histogram. */
  connectTime: LatencyStats;
  workers: ConnectWorkerSummary[];
}

/** What the command counted during the run. */
export interface ConnectTally extends AttemptTally {
  options: ConnectOptions;
  address: string;
  perWorker: { histogram: Histogram; failed: number; gaveUpAfterFailures: number | null }[];
}

/** Builds the summary from the run's tallies. */
export function summarizeConnect(t: ConnectTally): ConnectSummary {
  const gaveUp = t.perWorker.flatMap((w, worker) =>
    w.gaveUpAfterFailures === null
      ? []
      : [`Worker ${worker} gave up after ${w.gaveUpAfterFailures} failures in a row`]
  );
  const { target, ...rest } = t.options;
  const measures = t.options.tls ? "tls" : "tcp";
  const base = summarizeAttempts(t, { ...rest, target: formatHostPort(target) }, {
    kind: "connect",
    mode: measures,
    histogramName: "connect",
    noun: "connections",
    cpuConsequence: "set-up times include its own queueing",
    warnings: gaveUp,
  });
  return {
    ...base.result,
    target: formatHostPort(target),
    address: formatHostPort({ host: t.address, port: target.port }),
    measures,
    attempts: base.result.done + base.result.failed,
    connectionsPerSec: base.perSec(base.stats.count),
    connectTime: base.stats,
    workers: base.workers.map((w) => ({
      worker: w.worker,
      done: w.done,
      failed: w.failed,
      connectionsPerSec: base.perSec(w.done),
      connectTime: w.stats,
      gaveUpAfterFailures: t.perWorker[w.worker].gaveUpAfterFailures,
    })),
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
