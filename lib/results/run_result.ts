/**
 * The run-result model: what a finished run of any measuring command is.
 * Every JSON summary (`--json FILE`, `--json -`) is a {@linkcode RunResult}
 * plus the fields of its kind, and `merge`, `report` and `compare` read
 * results through this one shape (loaded by `load_result.ts`), as fortio's
 * `RunnerResults` is filled by every runner and read by every consumer.
 *
 * Pure: the builders take what a run counted and return data.
 *
 * Stable interface (documented in the README): `command`, `kind`, `mode`,
 * `resultFormat`, `node`, `run`, `options`, `start`, `window`,
 * `interrupted`, `counts`, `histograms`, `files`, `warnings`; and the
 * fields every summary had before the model: `histogram`, `csv`, `done`,
 * `failed`, `errors`, `measuredSeconds`, `clientCpu`.
 *
 * @module
 */
import type { RunInfo } from "../run_info.ts";
import type { ClockCheck } from "../clock/clock_check.ts";

/** Every kind of measuring run, as `command` and `kind` name it. */
export const RESULT_KINDS = ["latency", "connect", "throughput", "responsiveness"] as const;

/** A kind of measuring run. */
export type ResultKind = typeof RESULT_KINDS[number];

/** Version of the result shape; readers refuse a newer one than they know. */
export const RESULT_FORMAT = 1;

/** Lateness above which a start is worth a warning, ms. */
export const LATE_START_WARNING_MS = 10;

/** Which node measured: the `--node-id` asked for (default: the host name) and the host. */
export interface NodeIdentity {
  /** `--node-id`, or the host name when none was given. */
  id: string;
  /** Host name of the machine (or pod) that ran the client. */
  host: string;
}

/** When measuring was meant to start and when it did. */
export interface StartTiming {
  /** The `--start-at` instant asked for, ISO 8601 UTC; null when measuring began once ready. */
  askedAt: string | null;
  /** The same in ms since the Unix epoch (this node's wall clock); null when none was asked. */
  askedEpochMs: number | null;
  /** How much later than `askedAt` measuring began, ms; 0 when on time or none was asked. */
  lateMs: number;
}

/** The measured window on this node's wall clock, ms since the Unix epoch. */
export interface MeasuredWindow {
  /**
   * Time zero of the CSV's relative time columns (`start_us`,
   * `interval_start_s`): adding it puts every row on the wall clock.
   */
  originEpochMs: number;
  /** When measuring began (the instant "go" was given). */
  startEpochMs: number;
  /** When the last worker finished. */
  endEpochMs: number;
}

/** Attempts (round trips, connections, probes, streams) by outcome. */
export interface OutcomeCounts {
  /** Successful attempts: the samples behind the histograms. */
  ok: number;
  /** Failed attempts, of every kind. */
  failed: number;
  /** Failed attempts per kind (`refused`, `timeout` …), zero kinds included or not. */
  byOutcome: Record<string, number>;
}

/** Where the run's files went, as given on the command line (null when not written). */
export interface ResultFiles {
  /** `--csv`: one row per sample. */
  csv: string | null;
  /** `--hlog`: HdrHistogram interval log. */
  hlog: string | null;
  /** `--json`: this summary ("-" for stdout). */
  json: string | null;
}

/**
 * The fields every result has, whatever its kind. `O` is the kind's
 * options as asked. A summary extends this with the fields of its kind.
 */
export interface RunResult<K extends ResultKind = ResultKind, O = Record<string, unknown>> {
  /** The measuring command (kept from before the model; same as `kind`). */
  command: K;
  /** The kind of run. */
  kind: K;
  /**
   * How it measured: "closed-loop" | "open-loop" (latency), "tcp" | "tls"
   * (connect), "up" | "down" | "both" | "up then down" | "udp"
   * (throughput), "idle" | "idle+loaded" (responsiveness).
   */
  mode: string;
  /** {@linkcode RESULT_FORMAT} of the writer. */
  resultFormat: number;
  node: NodeIdentity;
  /** Versions, run id and wall-clock start of the process. */
  run: RunInfo;
  /** The options as asked (paths included). */
  options: O;
  start: StartTiming;
  window: MeasuredWindow;
  /** Stopped by Ctrl-C/SIGTERM: the figures cover what was measured before. */
  interrupted: boolean;
  counts: OutcomeCounts;
  /**
   * HDR histograms (values in ns), compressed base64 as
   * `hdr-histogram-js`'s `encodeIntoCompressedBase64` writes them, by name:
   * "rtt" (latency), "connect" (connect), "idle.<probe>"/"loaded.<probe>"
   * (responsiveness); none for throughput.
   */
  histograms: Record<string, string>;
  files: ResultFiles;
  /**
   * `--time-port`: this node's clock against the server's, so that a merge
   * can tell skewed nodes; null (or absent) when not checked.
   */
  clock?: ClockCheck | null;
  /** Figures that should not be trusted, in words. */
  warnings: string[];
}

/** The options every measuring command shares for runs on many nodes. */
export interface FleetOptions {
  /** `--json`: the summary's file, or "-" for stdout (one line). */
  jsonPath?: string;
  /** `--node-id`: names this node in the JSON and after a merge. @default {the host name} */
  nodeId?: string;
  /** `--start-at`: begin measuring at this wall-clock instant, ms since the Unix epoch. */
  startAtEpochMs?: number;
  /** `--time-port`: ask `serve --time-port` on the target's host for its clock first. */
  timePort?: number;
}

/** What measuring saw of its own start: the shape `measure()` returns. */
export interface RunTiming {
  /** The `--start-at` instant asked for (ms since epoch), or null. */
  askedStartEpochMs: number | null;
  /** When measuring began. */
  startEpochMs: number;
  /** When the last worker finished. */
  endEpochMs: number;
}

/** What every kind's tally carries about its timing, beside its counts. */
export interface TallyTiming {
  /** From `measure()`; derived from `run` and the measured seconds when absent. */
  timing?: RunTiming;
  /** Time zero of the CSV's relative times; `timing.startEpochMs` when absent. */
  originEpochMs?: number;
}

/**
 * The timing a tally carries; summaries built without one (tests, older
 * callers) get the window from the run's start and measured seconds.
 */
export function timingOf(
  timing: RunTiming | undefined,
  run: RunInfo,
  measuredSeconds: number,
): RunTiming {
  return timing ?? {
    askedStartEpochMs: null,
    startEpochMs: run.startEpochMs,
    endEpochMs: run.startEpochMs + measuredSeconds * 1000,
  };
}

/** What every kind's tally holds that the shared part of its result comes from. */
export interface ResultTally extends TallyTiming {
  options: FleetOptions & { hlog?: { path: string } };
  run: RunInfo;
  interrupted: boolean;
  csv: { path: string; rows: number } | null;
}

/** The kind's own part of the shared result: what its summary builder computed. */
export interface ResultParts<K extends ResultKind, O> {
  kind: K;
  mode: string;
  /** The options as the summary shows them. */
  options: O;
  /** Length of the measured phase, for a tally without timing. */
  measuredSeconds: number;
  /** Successful attempts, and the failed ones by kind. */
  ok: number;
  errors: Record<string, number>;
  histograms: Record<string, string>;
  /** The kind's own warnings. */
  warnings: string[];
}

/** The shared part of a summary from its tally and the kind's own figures. */
export function resultOfTally<K extends ResultKind, O>(
  t: ResultTally,
  p: ResultParts<K, O>,
): RunResult<K, O> {
  return buildRunResult({
    kind: p.kind,
    mode: p.mode,
    run: t.run,
    nodeId: t.options.nodeId,
    options: p.options,
    timing: timingOf(t.timing, t.run, p.measuredSeconds),
    originEpochMs: t.originEpochMs,
    interrupted: t.interrupted,
    counts: outcomeCounts(p.ok, p.errors),
    histograms: p.histograms,
    files: { csv: t.csv?.path, hlog: t.options.hlog?.path, json: t.options.jsonPath },
    warnings: p.warnings,
  });
}

/** What a summary builder hands to {@linkcode buildRunResult}. */
export interface RunResultInput<K extends ResultKind, O> {
  kind: K;
  mode: string;
  run: RunInfo;
  /** `--node-id`; the host name in `run` when undefined. */
  nodeId: string | undefined;
  options: O;
  timing: RunTiming;
  /** Time zero of the CSV's relative time columns; `timing.startEpochMs` when undefined. */
  originEpochMs?: number;
  interrupted: boolean;
  counts: OutcomeCounts;
  histograms: Record<string, string>;
  files: { csv?: string; hlog?: string; json?: string };
  /** The kind's own warnings; the late-start one is added after them. */
  warnings: string[];
}

/** Builds the part of a summary every kind shares. */
export function buildRunResult<K extends ResultKind, O>(
  input: RunResultInput<K, O>,
): RunResult<K, O> {
  const start = startTiming(input.timing);
  const late = lateStartWarning(start.lateMs);
  return {
    command: input.kind,
    kind: input.kind,
    mode: input.mode,
    resultFormat: RESULT_FORMAT,
    node: { id: input.nodeId ?? input.run.hostname, host: input.run.hostname },
    run: input.run,
    options: input.options,
    start,
    window: {
      originEpochMs: input.originEpochMs ?? input.timing.startEpochMs,
      startEpochMs: input.timing.startEpochMs,
      endEpochMs: input.timing.endEpochMs,
    },
    interrupted: input.interrupted,
    counts: input.counts,
    histograms: input.histograms,
    files: {
      csv: input.files.csv ?? null,
      hlog: input.files.hlog ?? null,
      json: input.files.json ?? null,
    },
    warnings: late ? [...input.warnings, late] : input.warnings,
  };
}

/** The start record of a run: lateness measured against `--start-at`. */
export function startTiming(timing: RunTiming): StartTiming {
  if (timing.askedStartEpochMs === null) return { askedAt: null, askedEpochMs: null, lateMs: 0 };
  return {
    askedAt: new Date(timing.askedStartEpochMs).toISOString(),
    askedEpochMs: timing.askedStartEpochMs,
    lateMs: Math.max(0, timing.startEpochMs - timing.askedStartEpochMs),
  };
}

/** Warns when measuring began more than {@linkcode LATE_START_WARNING_MS} after `--start-at`. */
export function lateStartWarning(lateMs: number): string | undefined {
  if (lateMs <= LATE_START_WARNING_MS) return undefined;
  return `Measuring began ${
    lateMs.toFixed(1)
  } ms after --start-at (the client was not ready in time): this node's window is shorter than the others'`;
}

/** Counts by outcome from the failure counts of a run and its successes. */
export function outcomeCounts(ok: number, errors: Record<string, number>): OutcomeCounts {
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  return { ok, failed, byOutcome: { ...errors } };
}

/** The measured seconds of a window. */
export function windowSeconds(window: MeasuredWindow): number {
  return Math.max(0, (window.endEpochMs - window.startEpochMs) / 1000);
}
