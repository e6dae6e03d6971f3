/**
 * The summary of a responsiveness run: per phase (idle, loaded) and probe
 * kind, the distribution of the times; the trimmed means and the RPM the
 * draft defines; the load the path carried meanwhile. Pure: samples and
 * tallies in, data and text out.
 *
 * @module
 */
import { resultOfTally, type RunResult, type TallyTiming } from "../results/run_result.ts";
import { INTERRUPTED_WARNING } from "../summary_parts.ts";
import {
  createHistogram,
  encodeHistogram,
  type LatencyStats,
  latencyStats,
  recordUs,
} from "../histogram.ts";
import type { RunInfo } from "../run_info.ts";
import { formatBitsPerSec, formatCount, formatTable, formatUs } from "../table.ts";
import type { IntervalTally } from "../throughput/tally.ts";
import type { ErrorKind } from "../worker_protocol.ts";
import type { PhasedSample } from "./csv_rows.ts";
import type { ResponsivenessOptions } from "./options.ts";
import type { ProbeKind } from "./probes.ts";
import {
  type ProbeTrimmedMeans,
  roundTripsPerMinute,
  rpmWindow,
  TRIMMED_MEAN_PERCENTILE,
  trimmedMean,
  weightedRoundTripMs,
} from "./rpm.ts";

/** The probe kinds in report order. */
export const PROBE_KINDS: readonly ProbeKind[] = ["self", "foreign_connect", "foreign_echo"];

/** One probe kind in one phase. */
export interface ProbeKindSummary {
  /** Successful times, µs, from an HDR histogram. */
  rtt: LatencyStats;
  failed: number;
  /** Failures by kind. */
  errors: Partial<Record<ErrorKind, number>>;
  /** HDR histogram (ns), compressed base64. */
  histogram: string;
}

/** RPM and what it was computed from. */
export interface RpmFigure {
  /** Round trips per minute; null when a probe kind had no sample. */
  rpm: number | null;
  /** The weighted round trip behind it, ms. */
  roundTripMs: number | null;
  /** Trimmed means (95th percentile) of the probe times, ms. */
  trimmedMeansMs: ProbeTrimmedMeans;
  /** The part of the timeline aggregated, µs since the run started. */
  fromUs: number;
  toUs: number;
  /** Samples behind each trimmed mean. */
  samples: Record<ProbeKind, number>;
}

/** One phase. */
export interface PhaseSummary {
  probes: Record<ProbeKind, ProbeKindSummary>;
  responsiveness: RpmFigure;
}

/** The JSON summary of `netspeed responsiveness`. */
export interface ResponsivenessSummary extends RunResult<"responsiveness", ResponsivenessOptions> {
  target: string;
  /** The formula, in words, as computed. */
  formula: string;
  idle: PhaseSummary;
  loaded: PhaseSummary | null;
  load: {
    /** When the load started and ended, µs since the run started (null if it never did). */
    startUs: number | null;
    endUs: number | null;
    streamsPerDirection: number;
    liveStreams: number;
    failedStreams: number;
    /** Payload bits per second over the whole load. */
    upBitsPerSec: number;
    downBitsPerSec: number;
    /** Per interval, since the load started. */
    intervals: { startS: number; endS: number; upBitsPerSec: number; downBitsPerSec: number }[];
  };
  /** Probes not sent because their predecessors had not finished. */
  skipped: { self: number; foreign: number };
  csv: { path: string; rows: number } | null;
}

/** What the command gathered. */
export interface ResponsivenessTally extends TallyTiming {
  options: ResponsivenessOptions;
  run: RunInfo;
  target: string;
  interrupted: boolean;
  samples: PhasedSample[];
  loadStartUs: number | null;
  loadEndUs: number | null;
  liveStreams: number;
  failedStreams: number;
  loadIntervals: IntervalTally[];
  skipped: { self: number; foreign: number };
  csv: { path: string; rows: number } | null;
}

/** The formula as netspeed computes it. */
export const RPM_FORMULA =
  "RPM = 60000 / (1/4 * (TM(tcp_f) + TM(echo_f)) + 1/2 * TM(echo_s)), TM = mean of the times at or below the 95th percentile, in ms";

function kindSummary(samples: PhasedSample[]): ProbeKindSummary {
  const histogram = createHistogram();
  const errors: Partial<Record<ErrorKind, number>> = {};
  let failed = 0;
  for (const s of samples) {
    if (s.error === "") recordUs(histogram, s.rttUs);
    else {
      failed++;
      errors[s.error as ErrorKind] = (errors[s.error as ErrorKind] ?? 0) + 1;
    }
  }
  return { rtt: latencyStats(histogram), failed, errors, histogram: encodeHistogram(histogram) };
}

/** RPM over the successful samples that started in [fromUs, toUs). */
export function rpmOver(samples: PhasedSample[], fromUs: number, toUs: number): RpmFigure {
  const inWindow = samples.filter((s) => s.error === "" && s.startUs >= fromUs && s.startUs < toUs);
  const times = (kind: ProbeKind) =>
    inWindow.filter((s) => s.kind === kind).map((s) => s.rttUs / 1000);
  const trimmedMeansMs: ProbeTrimmedMeans = {
    tcpForeignMs: trimmedMean(times("foreign_connect")),
    echoForeignMs: trimmedMean(times("foreign_echo")),
    echoSelfMs: trimmedMean(times("self")),
  };
  const rpm = roundTripsPerMinute(trimmedMeansMs);
  return {
    rpm,
    roundTripMs: rpm === null ? null : weightedRoundTripMs(trimmedMeansMs),
    trimmedMeansMs,
    fromUs,
    toUs,
    samples: Object.fromEntries(PROBE_KINDS.map((k) => [k, times(k).length])) as Record<
      ProbeKind,
      number
    >,
  };
}

function phaseSummary(samples: PhasedSample[], fromUs: number, toUs: number): PhaseSummary {
  return {
    probes: Object.fromEntries(
      PROBE_KINDS.map((kind) => [kind, kindSummary(samples.filter((s) => s.kind === kind))]),
    ) as Record<ProbeKind, ProbeKindSummary>,
    responsiveness: rpmOver(samples, fromUs, toUs),
  };
}

/** Builds the summary. */
export function summarizeResponsiveness(t: ResponsivenessTally): ResponsivenessSummary {
  const idleSamples = t.samples.filter((s) => s.phase === "idle");
  const loadedSamples = t.samples.filter((s) => s.phase === "loaded");
  const idleEndUs = t.loadStartUs ?? Math.max(0, ...idleSamples.map((s) => s.startUs + 1));
  const idle = phaseSummary(idleSamples, 0, idleEndUs);
  let loaded: PhaseSummary | null = null;
  if (t.loadStartUs !== null && t.loadEndUs !== null) {
    const window = rpmWindow(t.loadStartUs / 1000, t.loadEndUs / 1000);
    loaded = phaseSummary(loadedSamples, window.fromMs * 1000, window.toMs * 1000);
  }
  const loadSeconds = t.loadStartUs !== null && t.loadEndUs !== null
    ? (t.loadEndUs - t.loadStartUs) / 1e6
    : 0;
  const bytesOf = (i: IntervalTally, direction: "up" | "down") =>
    i.directions.get(direction)?.bytes ?? 0;
  const total = (direction: "up" | "down") =>
    t.loadIntervals.reduce((sum, i) => sum + bytesOf(i, direction), 0);
  const perSec = (bytes: number, seconds: number) => (seconds > 0 ? bytes * 8 / seconds : 0);

  const warnings: string[] = [];
  if (t.failedStreams > 0) {
    warnings.push(
      `${t.failedStreams} of ${
        2 * t.options.streams
      } load streams failed: the path may not have been saturated`,
    );
  }
  for (const [name, phase] of [["idle", idle], ["loaded", loaded]] as const) {
    if (!phase) continue;
    const failed = PROBE_KINDS.reduce((sum, k) => sum + phase.probes[k].failed, 0);
    if (failed > 0) {
      warnings.push(
        `${
          formatCount(failed)
        } ${name} probes failed (counted by kind in the JSON); the RPM uses the others`,
      );
    }
    const thin = PROBE_KINDS.filter((k) => phase.responsiveness.samples[k] < 20);
    if (thin.length > 0) {
      warnings.push(
        `The ${name} RPM rests on fewer than 20 samples of ${
          thin.join(", ")
        }: run longer before trusting it`,
      );
    }
  }
  if (t.skipped.self + t.skipped.foreign > 0) {
    warnings.push(
      `${
        formatCount(t.skipped.self + t.skipped.foreign)
      } probes were not sent because earlier ones had not finished`,
    );
  }
  if (t.interrupted) {
    warnings.push(INTERRUPTED_WARNING);
  }
  const phases = [["idle", idle], ["loaded", loaded]] as const;
  const histograms: Record<string, string> = {};
  const byOutcome: Record<string, number> = {};
  let ok = 0;
  for (const [name, phase] of phases) {
    for (const kind of PROBE_KINDS) {
      const probes = phase?.probes[kind];
      if (!probes) continue;
      histograms[`${name}.${kind}`] = probes.histogram;
      ok += probes.rtt.count;
      for (const [error, n] of Object.entries(probes.errors)) {
        byOutcome[error] = (byOutcome[error] ?? 0) + n;
      }
    }
  }
  const lastSampleUs = Math.max(0, ...t.samples.map((s) => s.startUs + (s.rttUs || 0)));
  return {
    ...resultOfTally(t, {
      kind: "responsiveness",
      mode: loaded ? "idle+loaded" : "idle",
      options: t.options,
      measuredSeconds: lastSampleUs / 1e6,
      ok,
      errors: byOutcome,
      histograms,
      warnings,
    }),
    target: t.target,
    formula: RPM_FORMULA,
    idle,
    loaded,
    load: {
      startUs: t.loadStartUs,
      endUs: t.loadEndUs,
      streamsPerDirection: t.options.streams,
      liveStreams: t.liveStreams,
      failedStreams: t.failedStreams,
      upBitsPerSec: perSec(total("up"), loadSeconds),
      downBitsPerSec: perSec(total("down"), loadSeconds),
      intervals: t.loadIntervals.map((i) => ({
        startS: i.startMs / 1000,
        endS: i.endMs / 1000,
        upBitsPerSec: perSec(bytesOf(i, "up"), (i.endMs - i.startMs) / 1000),
        downBitsPerSec: perSec(bytesOf(i, "down"), (i.endMs - i.startMs) / 1000),
      })),
    },
    skipped: t.skipped,
    csv: t.csv,
  };
}

const KIND_LABELS: Record<ProbeKind, string> = {
  self: "self (echo)",
  foreign_connect: "foreign connect",
  foreign_echo: "foreign echo",
};

function formatRpm(rpm: number | null): string {
  return rpm === null ? "-" : formatCount(rpm);
}

/** The aligned terminal summary. */
export function formatResponsivenessSummary(s: ResponsivenessSummary): string {
  const o = s.options;
  const lines = [
    `netspeed responsiveness ${s.target}: ${o.idleMs / 1000} s idle, then ${
      o.loadedMs / 1000
    } s under load (${o.streams} streams up to discard and ${o.streams} down from chargen at once)`,
  ];
  if (s.loaded) {
    lines.push(
      `Load: up ${formatBitsPerSec(s.load.upBitsPerSec)}, down ${
        formatBitsPerSec(s.load.downBitsPerSec)
      }, ${s.load.liveStreams} of ${2 * o.streams} streams connected`,
    );
  }
  lines.push("");
  const rows: string[][] = [];
  for (const [name, phase] of [["idle", s.idle], ["loaded", s.loaded]] as const) {
    if (!phase) continue;
    for (const kind of PROBE_KINDS) {
      const p = phase.probes[kind];
      const tm = {
        self: phase.responsiveness.trimmedMeansMs.echoSelfMs,
        foreign_connect: phase.responsiveness.trimmedMeansMs.tcpForeignMs,
        foreign_echo: phase.responsiveness.trimmedMeansMs.echoForeignMs,
      }[kind];
      const empty = p.rtt.count === 0;
      rows.push([
        name,
        KIND_LABELS[kind],
        formatCount(p.rtt.count),
        formatCount(p.failed),
        ...(empty
          ? ["-", "-", "-", "-", "-"]
          : [p.rtt.minUs, p.rtt.p50Us, p.rtt.p90Us, p.rtt.p99Us, p.rtt.maxUs].map(formatUs)),
        Number.isFinite(tm) ? formatUs(tm * 1000) : "-",
      ]);
    }
  }
  lines.push(
    formatTable(
      ["phase", "probe", "done", "failed", "min", "p50", "p90", "p99", "max", "TM (RPM window)"],
      rows,
      ["left", "left", "right", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  lines.push("");
  const idle = s.idle.responsiveness;
  const loaded = s.loaded?.responsiveness;
  lines.push(
    `Responsiveness: idle ${formatRpm(idle.rpm)} RPM${
      idle.roundTripMs === null ? "" : ` (${idle.roundTripMs.toFixed(3)} ms)`
    }, loaded ${formatRpm(loaded?.rpm ?? null)} RPM${
      loaded?.roundTripMs == null ? "" : ` (${loaded.roundTripMs.toFixed(3)} ms)`
    }`,
  );
  lines.push(
    `Times in microseconds. RPM = round trips per minute, ${
      s.formula.replace(/^RPM = /, "")
    } (the IETF responsiveness draft's weights, adapted to echo probes: no TLS). The loaded RPM aggregates the last ${
      loaded ? ((loaded.toUs - loaded.fromUs) / 1e6).toFixed(1) : "-"
    } s of load; TM is the ${TRIMMED_MEAN_PERCENTILE}th-percentile trimmed mean.`,
  );
  for (const warning of s.warnings) lines.push(`Warning: ${warning}`);
  return lines.join("\n");
}
