/**
 * Runs an open-loop latency test (TCP or UDP) on Web Workers: plans the
 * schedule, starts every worker on one common start, writes CSV rows as
 * batches arrive, merges the histograms and builds the summary.
 * `lib/commands/latency.ts` hands runs with a rate (or `--udp`) here.
 *
 * @module
 */
import { attachClock, clockCheckFor } from "../clock/clock_check.ts";
import { printSavedFiles, printSummary, writeSummaryJson } from "../saved_files.ts";
import { openRunHlog, printSavedHlog, runHlogTag } from "../hlog/options.ts";
import { CsvWriter } from "../csv_writer.ts";
import { exitCodeOf, RunError } from "../errors.ts";
import { createHistogram, decodeHistogram, type Histogram, mergeHistograms } from "../histogram.ts";
import { describeErrorKind, noConnectionMessage } from "../net_io.ts";
import { newRunInfo, sharedClockMs } from "../run_info.ts";
import { formatHostPort } from "../units.ts";
import type {
  FromOpenLoopWorker,
  OpenLoopJob,
  ToOpenLoopWorker,
  UdpSocketCounts,
} from "../worker_protocol.ts";
import {
  measure,
  phaseTiming,
  progressBarWhen,
  secondsOf,
  startInstant,
  WorkerGroup,
} from "../worker_group.ts";
import { OPEN_LOOP_CSV_HEADER, openLoopRows } from "./csv_rows.ts";
import { openLoopPlanned, planOpenLoopWorkers } from "./open_loop_plan.ts";
import { formatOpenLoopSummary, summarizeOpenLoop } from "./open_loop_summary.ts";
import type { LatencyOptions } from "./options.ts";
import { type LatencySummary, withClientFloor } from "./summary.ts";
import type { ClientFloor } from "./client_floor.ts";
import { needsAddress } from "../engine/socket_engine.ts";
import { resolveOnce } from "../commands/connect.ts";
import { commonestFailure, countFailures, zeroErrorCounts } from "../error_counts.ts";

const TCP_WORKER_URL = new URL("./open_loop_worker.ts", import.meta.url).href;
const UDP_WORKER_URL = new URL("../udp/latency_worker.ts", import.meta.url).href;

/** Margin between the go message and the common start, so every worker gets it in time. */
const START_MARGIN_MS = 20;

/** Runs the test, prints the summary, writes the files. */
export async function runOpenLoopLatency(
  options: LatencyOptions,
  clientFloor?: ClientFloor,
): Promise<{ summary: LatencySummary; exitCode: 0 | 1 | 130 }> {
  // Before anything else loads the path, so the round trips are short.
  const clock = await clockCheckFor(options.target.host, options.timePort, options.timeoutMs);
  // One reading for both: the CSV's time zero and the run's recorded start (to the ms).
  const runStartEpochMs = sharedClockMs();
  const run = newRunInfo(new Date(runStartEpochMs));
  const udp = options.transport === "udp";
  const csv = options.csvPath
    ? await CsvWriter.create(options.csvPath, OPEN_LOOP_CSV_HEADER)
    : undefined;
  const hlog = openRunHlog(options.hlog, "latency", options.timeoutMs);
  const hlogTag = runHlogTag("latency", options.nodeId);
  const engine = options.engine ?? "deno";
  const address = needsAddress(engine) ? await resolveOnce(options.target.host) : undefined;
  const jobs = planOpenLoopWorkers(options, runStartEpochMs, address);
  const planned = openLoopPlanned(options);

  const errors = zeroErrorCounts();
  const perWorker = jobs.map(() => ({ histogram: createHistogram() as Histogram, failed: 0 }));
  const uncorrected: Histogram[] = [];
  const sendLateness: Histogram[] = [];
  const udpCounts: UdpSocketCounts[] = [];
  let sent = 0;
  let unsent = 0;
  let lastSendMs: number | null = null;
  let measuredUntilEpochMs = -Infinity;
  let attempts = 0;
  let liveConnections = 0;
  const group = WorkerGroup.start<OpenLoopJob, ToOpenLoopWorker, FromOpenLoopWorker>({
    url: udp ? UDP_WORKER_URL : TCP_WORKER_URL,
    name: `latency-${udp ? "udp" : "open"}`,
    jobs,
    onMessage(message) {
      if (message.type === "batch") {
        const { batch } = message;
        csv?.writeRows(openLoopRows(batch));
        hlog?.recordBatch(hlogTag, runStartEpochMs, batch.startUs, batch.rttUs, batch.length);
        hlog?.flushDue(sharedClockMs());
        attempts += batch.length;
        perWorker[batch.workerId].failed += countFailures(batch, errors);
      } else if (message.type === "ready") {
        liveConnections += message.liveConnections;
      } else if (message.type === "done") {
        perWorker[message.workerId].histogram = decodeHistogram(message.histogram);
        uncorrected.push(decodeHistogram(message.histogramUncorrected));
        if (message.sendLateness) sendLateness.push(decodeHistogram(message.sendLateness));
        sent += message.sent;
        unsent += message.unsent;
        if (message.lastSendMs !== null) {
          lastSendMs = Math.max(lastSendMs ?? -Infinity, message.lastSendMs);
        }
        measuredUntilEpochMs = Math.max(
          measuredUntilEpochMs,
          message.measuredUntilEpochMs ?? -Infinity,
        );
        if (message.udp) udpCounts.push(...message.udp);
      }
    },
  });
  // Every worker starts its schedule at the same instant, a little after
  // "go" so the message reaches each first.
  let startEpochMs = 0;
  const phase = await measure(group, {
    go: (nowEpochMs): ToOpenLoopWorker => {
      startEpochMs = startInstant(nowEpochMs, START_MARGIN_MS, options.startAtEpochMs);
      hlog?.begin(startEpochMs);
      return { type: "go", startEpochMs };
    },
    stop: { type: "stop" },
    startAtEpochMs: options.startAtEpochMs,
    leadMs: START_MARGIN_MS,
    progress: progressBarWhen(
      options.progress,
      () => ({ done: attempts, planned, unit: "messages" }),
    ),
  });
  csv?.close();
  // The window ends at the last send or reply, not when the late replies'
  // time limit ran out or the workers had closed their sockets.
  const timing = phaseTiming(phase, startEpochMs, undefined, measuredUntilEpochMs);
  hlog?.finish(timing.endEpochMs);
  const interrupted = phase.interrupted;
  const workerErrors = group.errors;
  const measuredSeconds = secondsOf(timing);

  const summary = summarizeOpenLoop({
    options,
    run,
    planned,
    interrupted,
    measuredSeconds,
    timing,
    originEpochMs: runStartEpochMs,
    merged: mergeHistograms(perWorker.map((w) => w.histogram)),
    mergedUncorrected: mergeHistograms(uncorrected),
    mergedSendLateness: sendLateness.length > 0 ? mergeHistograms(sendLateness) : null,
    perWorker,
    errors,
    sent,
    unsent,
    lastSendMs,
    udp: udp ? udpCounts : null,
    cpu: phase.cpu,
    csv: csv ? { path: csv.path, rows: csv.rowCount } : null,
  });
  summary.warnings.push(...workerErrors.map((e) => `A worker failed: ${e}`));
  attachClock(summary, clock);
  if (clientFloor) withClientFloor(summary, clientFloor);
  if (options.jsonPath) await writeSummaryJson(options.jsonPath, summary);

  if (liveConnections === 0 && !interrupted && workerErrors.length === 0) {
    const kind = commonestFailure(errors);
    const target = formatHostPort(options.target);
    throw new RunError(
      udp
        ? `No echo from the UDP echo at "${target}": ${describeErrorKind(kind)}`
        : noConnectionMessage(target, kind),
    );
  }
  printSummary(formatOpenLoopSummary(summary), options.jsonPath);
  printSavedFiles(summary.csv, options.jsonPath);
  printSavedHlog(hlog, options.jsonPath);

  // Lost datagrams are what a UDP test measures, not a failure of the run.
  const failedRun = udp ? summary.failed - summary.errors.timeout > 0 : summary.failed > 0;
  return { summary, exitCode: exitCodeOf(interrupted, failedRun || workerErrors.length > 0) };
}
