/**
 * The summary of a latency run: what was asked beside what happened, the
 * merged-histogram percentiles, a row per worker, and warnings for figures
 * that should not be trusted. Pure: counters and histograms in, data and
 * text out.
 *
 * @module
 */
import type { LatencyStats } from "../histogram.ts";
import type { RunResult } from "../results/run_result.ts";
import {
  type AttemptFields,
  type AttemptTally,
  summarizeAttempts,
} from "../results/attempt_result.ts";
import { formatCount, formatTable } from "../table.ts";
import { ALL_STAT_COLUMNS, statCells } from "../summary_parts.ts";
import { formatHostPort } from "../units.ts";
import type { UdpSummary } from "../udp/reception.ts";
import type { LatencyMode, LatencyOptions } from "./options.ts";
import type { RateFigures } from "./schedule.ts";
import { type ClientFloor, clientFloorWarning, formatClientFloor } from "./client_floor.ts";

/** Per-worker figures. */
export interface WorkerSummary {
  worker: number;
  done: number;
  failed: number;
  roundTripsPerSec: number;
  rtt: LatencyStats;
}

/**
 * The JSON summary of `netspeed latency` (see the README for each field):
 * the shared run result plus what only latency runs have.
 */
export interface LatencySummary
  extends RunResult<"latency", Omit<LatencyOptions, "target"> & { target: string }>, AttemptFields {
  target: string;
  mode: LatencyMode;
  roundTripsPerSec: number;
  /** Full round-trip times, µs, from the merged histogram. */
  rtt: LatencyStats;
  workers: WorkerSummary[];
  /**
   * Open loop: the rate asked for beside the rate the client kept, and
   * answers per second of the whole measured time (the drain included).
   */
  rate?: RateFigures & { answeredPerSec: number };
  /** Open loop: messages sent, and planned but never sent. */
  messages?: { sent: number; unsent: number };
  /**
   * Open loop: round trips timed from the actual send instead of the
   * intended one (what a closed-loop tool would report); `rtt` is corrected.
   */
  rttUncorrected?: LatencyStats;
  /** Open loop: HDR histogram of the uncorrected round trips (ns), compressed base64. */
  histogramUncorrected?: string;
  /** UDP: loss, duplicates, reordering and jitter. */
  udp?: UdpSummary;
  /**
   * With `--calibrate` (and in `bench`): this engine's own round trip
   * against an in-process echo on loopback, measured before the run.
   */
  clientFloor?: ClientFloor;
  /**
   * Closed loop with `--kernel-timestamps`: successful round trips that
   * ended at the kernel's receive time of their echo (the others ended
   * when the client read it).
   */
  kernelTimed?: number;
  /**
   * Open loop over TCP: how late messages left after their intended send
   * time, µs. Part of the result's validity: a late sender spaces the load
   * differently than asked.
   */
  sendLateness?: LatencyStats;
}

/** Adds the client's floor to a summary, with its warning when the p50 is close to it. */
export function withClientFloor(summary: LatencySummary, floor: ClientFloor): LatencySummary {
  summary.clientFloor = floor;
  const warning = clientFloorWarning(summary.rtt.p50Us, floor);
  if (warning) summary.warnings.push(warning);
  return summary;
}

/** What the command counted during the run. */
export interface LatencyTally extends AttemptTally {
  options: LatencyOptions;
  /** With kernel timestamps: successful round trips that ended at the kernel's stamp. */
  kernelTimed?: number;
}

/** Builds the summary of a closed-loop run from its tallies. */
export function summarizeLatency(t: LatencyTally): LatencySummary {
  const attempted = t.merged.totalCount + Object.values(t.errors).reduce((a, b) => a + b, 0);
  const modeWarnings = t.planned !== undefined && !t.interrupted && attempted < t.planned
    ? [
      `Only ${formatCount(attempted)} of ${
        formatCount(t.planned)
      } planned round trips were attempted: connections that failed stopped early`,
    ]
    : [];
  const unstamped = t.kernelTimed === undefined
    ? undefined
    : kernelTimedWarning(t.merged.totalCount - t.kernelTimed, "round trips");
  if (unstamped) modeWarnings.push(unstamped);
  const summary = summarizeRoundTrips(t, "closed-loop", modeWarnings);
  return t.kernelTimed === undefined ? summary : { ...summary, kernelTimed: t.kernelTimed };
}

/**
 * The line that says replies were timed by the kernel's receive time, and
 * for how many of them.
 */
export function kernelTimedLine(kernelTimed: number, of: number, noun: string): string {
  return `Reply times: when each echo reached this host (the kernel's receive timestamp, SO_TIMESTAMPNS), for ${
    formatCount(kernelTimed)
  } of ${formatCount(of)} ${noun}, so the client's own wake-up is not in them`;
}

/** The warning about replies the kernel did not stamp; undefined when there were none. */
export function kernelTimedWarning(unstamped: number, noun: string): string | undefined {
  if (unstamped <= 0) return undefined;
  return `${
    formatCount(unstamped)
  } ${noun} came without a kernel receive timestamp and were timed when the client read the echo, which adds its wake-up to them`;
}

/**
 * The part of a latency summary every mode shares: counts, merged
 * percentiles, per-worker rows, CPU share and the warnings about them;
 * `modeWarnings` come after the percentile warning and before the CPU one.
 */
export function summarizeRoundTrips(
  t: LatencyTally,
  mode: LatencyMode,
  modeWarnings: string[],
): LatencySummary {
  const { target, ...rest } = t.options;
  const base = summarizeAttempts(t, { ...rest, target: formatHostPort(target) }, {
    kind: "latency",
    mode,
    histogramName: "rtt",
    noun: "round trips",
    cpuConsequence: "latencies include its own queueing",
    warnings: modeWarnings,
  });
  return {
    ...base.result,
    target: formatHostPort(target),
    mode,
    roundTripsPerSec: base.perSec(base.stats.count),
    rtt: base.stats,
    workers: base.workers.map((w) => ({
      worker: w.worker,
      done: w.done,
      failed: w.failed,
      roundTripsPerSec: base.perSec(w.done),
      rtt: w.stats,
    })),
  };
}

/**
 * The line that says which engine measured, when it is not the default,
 * and what that costs; undefined for the default engine.
 */
export function engineLine(
  options: { engine?: string; connections: number },
): string | undefined {
  const turns = options.connections > 1
    ? "; a Worker's connections take turns, one round trip at a time per thread"
    : "";
  if (options.engine === "ffi") {
    return `Engine: ffi (libc sockets through FFI, blocking calls on each Worker's thread${turns})`;
  }
  if (options.engine === "busy-poll") {
    return `Engine: busy-poll (FFI reading in a spin, so no thread wake-up is measured; it uses a full core per Worker${turns})`;
  }
  return undefined;
}

/** Column titles of the terminal table, after the row name. */
const TABLE_HEADER = ["", "done", "failed", ...ALL_STAT_COLUMNS, "rt/s"];

function tableRow(name: string, done: number, failed: number, s: LatencyStats, perSec: number) {
  return [name, formatCount(done), formatCount(failed), ...statCells(s), formatCount(perSec)];
}

/** The aligned terminal summary. */
export function formatLatencySummary(s: LatencySummary): string {
  const o = s.options;
  const bound = o.count !== undefined
    ? `${formatCount(o.count)} round trips each`
    : `${(o.durationMs ?? 0) / 1000} s`;
  const lines = [
    `netspeed latency ${s.target}: closed-loop ping-pong, ${o.workers} worker${
      o.workers === 1 ? "" : "s"
    } x ${o.connections} connection${o.connections === 1 ? "" : "s"}, ${
      formatCount(o.sizeBytes)
    } B payload, ${bound}`,
    `Round trips: planned ${s.planned === null ? "-" : formatCount(s.planned)}, done ${
      formatCount(s.done)
    }, failed ${formatCount(s.failed)} in ${s.measuredSeconds.toFixed(2)} s (${
      formatCount(s.roundTripsPerSec)
    } round trips/s)`,
  ];
  const engine = engineLine(o);
  if (engine) lines.push(engine);
  if (s.kernelTimed !== undefined) {
    lines.push(kernelTimedLine(s.kernelTimed, s.done, "round trips"));
  }
  const failures = Object.entries(s.errors).filter(([, n]) => n > 0);
  if (failures.length > 0) {
    lines.push(
      `Failures by kind: ${failures.map(([k, n]) => `${k} ${formatCount(n)}`).join(", ")}`,
    );
  }
  lines.push("");
  const rows = [tableRow("all", s.done, s.failed, s.rtt, s.roundTripsPerSec)];
  if (s.workers.length > 1) {
    for (const w of s.workers) {
      rows.push(tableRow(`worker ${w.worker}`, w.done, w.failed, w.rtt, w.roundTripsPerSec));
    }
  }
  lines.push(formatTable(TABLE_HEADER, rows));
  lines.push("");
  lines.push(
    "Round-trip times in microseconds (full round trip, not half); * marks a percentile with fewer than 10 samples beyond it.",
  );
  if (s.clientFloor) lines.push(formatClientFloor(s.clientFloor));
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
