/**
 * `--hlog FILE` and `--hlog-interval` of the measuring commands, as data,
 * and how a run opens its log.
 *
 * @module
 */
import { HLOG_MAX_VALUE_UNIT_RATIO, hlogTag } from "./format.ts";
import { HlogRecording } from "./writer.ts";
import { hostname } from "../run_info.ts";

/** Where a run writes its HdrHistogram interval log and how often. */
export interface HlogOptions {
  path: string;
  /** One histogram per tag and this long a wall-clock interval. @default {1000} */
  intervalMs: number;
}

/** Default of `--hlog-interval`. */
export const DEFAULT_HLOG_INTERVAL_MS = 1000;

/** Workers send their sample batches at least this often (see the workers' flush timers). */
const BATCH_PERIOD_MS = 200;
/** Slack for a busy main thread. */
const LATE_MARGIN_MS = 300;

/**
 * Opens the run's log, or returns `undefined` without `--hlog`. An interval
 * is written once no sample that started in it can still arrive: after the
 * attempts' timeout plus the batch period.
 */
export function openRunHlog(
  hlog: HlogOptions | undefined,
  command: string,
  timeoutMs: number,
): HlogRecording | undefined {
  if (!hlog) return undefined;
  return HlogRecording.open({
    path: hlog.path,
    intervalMs: hlog.intervalMs,
    lateMs: timeoutMs + BATCH_PERIOD_MS + LATE_MARGIN_MS,
    comments: [
      `netspeed ${command}: values recorded in nanoseconds, Interval_Max in microseconds ` +
      `(value unit ratio ${HLOG_MAX_VALUE_UNIT_RATIO}); a sample belongs to the interval it started in`,
    ],
  });
}

/**
 * Prints where the log went, beside the CSV and JSON lines of a run (on
 * stderr when stdout carries the JSON: `--json -`).
 */
export function printSavedHlog(log: HlogRecording | undefined, jsonPath?: string): void {
  const print = jsonPath === "-" ? console.error : console.log;
  if (log) print(`HdrHistogram log: ${log.path} (${log.intervalCount} intervals)`);
}

/**
 * The tag of a run's intervals: the node (the host name unless given) and
 * what was measured, e.g. `db-7/latency`, so that logs of several nodes can
 * be concatenated or merged and still be told apart.
 */
export function runHlogTag(kind: string, nodeId?: string): string {
  return hlogTag(nodeId ?? hostname(), kind);
}
