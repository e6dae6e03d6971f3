/**
 * `netspeed latency HOST:PORT`: closed-loop ping-pong from Web Workers,
 * every attempt written to CSV as it arrives, percentiles from the merged
 * HDR histograms.
 *
 * @module
 */
import { attachClock, clockCheckFor } from "../clock/clock_check.ts";
import { printSavedFiles, printSummary, writeSummaryJson } from "../saved_files.ts";
import { openRunHlog, printSavedHlog, runHlogTag } from "../hlog/options.ts";
import { CsvWriter } from "../csv_writer.ts";
import { exitCodeOf, type ExitCodeValue, RunError } from "../errors.ts";
import { createHistogram, decodeHistogram, type Histogram, mergeHistograms } from "../histogram.ts";
import { noConnectionMessage } from "../net_io.ts";
import { newRunInfo, sharedClockMs } from "../run_info.ts";
import { formatHostPort } from "../units.ts";
import type { FromLatencyWorker, LatencyJob, ToLatencyWorker } from "../worker_protocol.ts";
import { commonestFailure, countFailures, zeroErrorCounts } from "../error_counts.ts";
import {
  GO_LEAD_MS,
  goWithDeadline,
  measure,
  phaseTiming,
  progressBarWhen,
  secondsOf,
  WorkerGroup,
} from "../worker_group.ts";
import { LATENCY_CSV_HEADER, latencyRows } from "../latency/csv_rows.ts";
import { runOpenLoopLatency } from "../latency/open_loop_run.ts";
import { printResult, writeReport } from "./report.ts";
import { resolveOnce } from "./connect.ts";
import { needsAddress } from "../engine/socket_engine.ts";
import { assertFfiAllowed } from "../engine/libc.ts";
import { type LatencyOptions, plannedRoundTrips, planWorkers } from "../latency/options.ts";
import {
  formatLatencySummary,
  type LatencySummary,
  summarizeLatency,
  withClientFloor,
} from "../latency/summary.ts";
import { measureClientFloor } from "../latency/client_floor.ts";

const WORKER_URL = new URL("../latency/worker.ts", import.meta.url).href;

/** What a finished run hands to callers such as `bench`. */
export interface LatencyResult {
  summary: LatencySummary;
  exitCode: ExitCodeValue;
}

/** Runs the test, prints the summary, writes the files; resolves with the exit code. */
export async function latency(options: LatencyOptions): Promise<ExitCodeValue> {
  const result = await runLatency(options);
  // Also after a Ctrl-C: what was measured is in the CSV and deserves its report.
  if (options.reportPath && options.csvPath) {
    const report = await writeReport(
      [{ csvPath: options.csvPath, summary: result.summary }],
      options.reportPath,
    );
    printResult(report);
  }
  return result.exitCode;
}

/** Like {@linkcode latency}, also returning the summary. */
export async function runLatency(options: LatencyOptions): Promise<LatencyResult> {
  const engine = options.engine ?? "deno";
  if (engine !== "deno") assertFfiAllowed(engine === "ffi" ? `--engine "ffi"` : "--busy-poll");
  // The floor is measured first, with the same engine and payload, so the run is not disturbed.
  const floor = options.calibrate
    ? await measureClientFloor(engine, options.sizeBytes, options.kernelTimestamps)
    : undefined;
  // A fixed rate (or UDP, which is always paced) runs the open-loop workers.
  if (options.mode === "open-loop" || options.transport === "udp") {
    return await runOpenLoopLatency(options, floor);
  }
  // Before anything else loads the path, so the round trips are short.
  const clock = await clockCheckFor(options.target.host, options.timePort, options.timeoutMs);
  // One reading for both: the CSV's time zero and the run's recorded start (to the ms).
  const runStartEpochMs = sharedClockMs();
  const run = newRunInfo(new Date(runStartEpochMs));
  const csv = options.csvPath
    ? await CsvWriter.create(options.csvPath, LATENCY_CSV_HEADER)
    : undefined;
  const hlog = openRunHlog(options.hlog, "latency", options.timeoutMs);
  const hlogTag = runHlogTag("latency", options.nodeId);
  const address = needsAddress(engine) ? await resolveOnce(options.target.host) : undefined;
  const jobs = planWorkers(options, runStartEpochMs, address);
  const planned = plannedRoundTrips(options);

  const errors = zeroErrorCounts();
  const perWorker = jobs.map(() => ({ histogram: createHistogram() as Histogram, failed: 0 }));
  let attempts = 0;
  let liveConnections = 0;
  let kernelTimed = 0;
  // The latest any worker reported (see phaseTiming).
  let measuredUntilEpochMs = -Infinity;
  const group = WorkerGroup.start<LatencyJob, ToLatencyWorker, FromLatencyWorker>({
    url: WORKER_URL,
    name: "latency",
    jobs,
    onMessage(message) {
      if (message.type === "batch") {
        const { batch } = message;
        csv?.writeRows(latencyRows(batch));
        hlog?.recordBatch(hlogTag, runStartEpochMs, batch.startUs, batch.rttUs, batch.length);
        hlog?.flushDue(sharedClockMs());
        attempts += batch.length;
        perWorker[batch.workerId].failed += countFailures(batch, errors);
      } else if (message.type === "ready") {
        liveConnections += message.liveConnections;
      } else if (message.type === "done") {
        perWorker[message.workerId].histogram = decodeHistogram(message.histogram);
        kernelTimed += message.kernelTimed ?? 0;
        measuredUntilEpochMs = Math.max(
          measuredUntilEpochMs,
          message.measuredUntilEpochMs ?? -Infinity,
        );
      }
    },
  });
  let startEpochMs = 0;
  let deadlineEpochMs: number | undefined;
  const phase = await measure(group, {
    go: (nowEpochMs) => {
      const go = goWithDeadline(options.durationMs, options.startAtEpochMs)(nowEpochMs);
      startEpochMs = go.startEpochMs;
      deadlineEpochMs = go.deadlineEpochMs;
      hlog?.begin(startEpochMs);
      return go;
    },
    leadMs: GO_LEAD_MS,
    stop: { type: "stop" },
    startAtEpochMs: options.startAtEpochMs,
    progress: progressBarWhen(options.progress, () => ({
      done: attempts,
      planned,
      plannedMs: options.durationMs,
      unit: "round trips",
    })),
  });
  csv?.close();
  const timing = phaseTiming(phase, startEpochMs, deadlineEpochMs, measuredUntilEpochMs);
  hlog?.finish(timing.endEpochMs);

  const summary = summarizeLatency({
    options,
    run,
    planned,
    interrupted: phase.interrupted,
    measuredSeconds: secondsOf(timing),
    timing,
    originEpochMs: runStartEpochMs,
    merged: mergeHistograms(perWorker.map((w) => w.histogram)),
    perWorker,
    errors,
    cpu: phase.cpu,
    csv: csv ? { path: csv.path, rows: csv.rowCount } : null,
    ...(options.kernelTimestamps ? { kernelTimed } : {}),
  });
  summary.warnings.push(...group.errors.map((e) => `A worker failed: ${e}`));
  attachClock(summary, clock);
  if (floor) withClientFloor(summary, floor);
  if (options.jsonPath) await writeSummaryJson(options.jsonPath, summary);

  if (liveConnections === 0 && !phase.interrupted && group.errors.length === 0) {
    throw new RunError(
      noConnectionMessage(formatHostPort(options.target), commonestFailure(errors)),
    );
  }
  printSummary(formatLatencySummary(summary), options.jsonPath);
  printSavedFiles(summary.csv, options.jsonPath);
  printSavedHlog(hlog, options.jsonPath);
  const failed = summary.failed > 0 || group.errors.length > 0;
  return { summary, exitCode: exitCodeOf(phase.interrupted, failed) };
}
