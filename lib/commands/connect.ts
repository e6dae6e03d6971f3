/**
 * `netspeed connect HOST:PORT`: TCP connection set-up time (and TLS
 * handshake time with `--tls`), one connection at a time per Web Worker,
 * every attempt written to CSV as it arrives, percentiles from the merged
 * HDR histograms.
 *
 * @module
 */
import { attachClock, clockCheckFor } from "../clock/clock_check.ts";
import { printSavedFiles, printSummary, writeSummaryJson } from "../saved_files.ts";
import { openRunHlog, printSavedHlog, runHlogTag } from "../hlog/options.ts";
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { CsvWriter } from "../csv_writer.ts";
import { exitCodeOf, type ExitCodeValue, RunError } from "../errors.ts";
import { createHistogram, decodeHistogram, type Histogram, mergeHistograms } from "../histogram.ts";
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
import { describeErrorKind } from "../net_io.ts";
import { newRunInfo, sharedClockMs } from "../run_info.ts";
import { formatHostPort } from "../units.ts";
import { assertFfiAllowed } from "../engine/libc.ts";
import type { ConnectJob, FromConnectWorker, ToConnectWorker } from "../worker_protocol.ts";
import { CONNECT_CSV_HEADER, connectRows } from "../connect/csv_rows.ts";
import { type ConnectOptions, planConnectWorkers, plannedAttempts } from "../connect/options.ts";
import { type ConnectSummary, formatConnectSummary, summarizeConnect } from "../connect/summary.ts";

const WORKER_URL = new URL("../connect/worker.ts", import.meta.url).href;

/** What a finished run hands to callers such as `bench`. */
export interface ConnectResult {
  summary: ConnectSummary;
  exitCode: ExitCodeValue;
}

/** Runs the test, prints the summary, writes the files; resolves with the exit code. */
export async function connect(options: ConnectOptions): Promise<ExitCodeValue> {
  return (await runConnect(options)).exitCode;
}

/**
 * Resolves the target's name once, so no attempt pays for a lookup.
 * Uses the system resolver (getaddrinfo), which reads /etc/hosts.
 */
export async function resolveOnce(host: string): Promise<string> {
  if (isIP(host)) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw new RunError(`Cannot resolve "${host}": ${(error as Error).message}`);
  }
}

/** Like {@linkcode connect}, also returning the summary. */
export async function runConnect(options: ConnectOptions): Promise<ConnectResult> {
  if ((options.engine ?? "deno") !== "deno") assertFfiAllowed(`--engine "ffi"`);
  const caCerts: string[] = [];
  if (options.caFile !== undefined) {
    try {
      caCerts.push(await Deno.readTextFile(options.caFile));
    } catch (error) {
      throw new RunError(`Cannot read --ca file "${options.caFile}": ${(error as Error).message}`);
    }
  }
  const address = await resolveOnce(options.target.host);
  // Before anything else loads the path, so the round trips are short.
  const clock = await clockCheckFor(options.target.host, options.timePort, options.timeoutMs);
  // One reading for both: the CSV's time zero and the run's recorded start (to the ms).
  const runStartEpochMs = sharedClockMs();
  const run = newRunInfo(new Date(runStartEpochMs));
  const csv = options.csvPath
    ? await CsvWriter.create(options.csvPath, CONNECT_CSV_HEADER)
    : undefined;
  const hlog = openRunHlog(options.hlog, "connect", options.timeoutMs);
  const hlogTag = runHlogTag("connect", options.nodeId);
  const jobs = planConnectWorkers(options, address, caCerts, runStartEpochMs);
  const planned = plannedAttempts(options);

  const errors = zeroErrorCounts();
  const perWorker = jobs.map(() => ({
    histogram: createHistogram() as Histogram,
    failed: 0,
    gaveUpAfterFailures: null as number | null,
  }));
  let attempts = 0;
  const firstErrors: string[] = [];
  // The latest any worker reported (see phaseTiming).
  let measuredUntilEpochMs = -Infinity;
  const group = WorkerGroup.start<ConnectJob, ToConnectWorker, FromConnectWorker>({
    url: WORKER_URL,
    name: "connect",
    jobs,
    onMessage(message) {
      if (message.type === "batch") {
        const { batch } = message;
        csv?.writeRows(connectRows(batch));
        hlog?.recordBatch(hlogTag, runStartEpochMs, batch.startUs, batch.connectUs, batch.length);
        hlog?.flushDue(sharedClockMs());
        attempts += batch.length;
        perWorker[batch.workerId].failed += countFailures(batch, errors);
      } else if (message.type === "gaveUp") {
        perWorker[message.workerId].gaveUpAfterFailures = message.consecutiveFailures;
      } else if (message.type === "done") {
        perWorker[message.workerId].histogram = decodeHistogram(message.histogram);
        if (message.firstError !== null) firstErrors.push(message.firstError);
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
      unit: "connections",
    })),
  });
  csv?.close();
  const timing = phaseTiming(phase, startEpochMs, deadlineEpochMs, measuredUntilEpochMs);
  hlog?.finish(timing.endEpochMs);

  const summary = summarizeConnect({
    options,
    run,
    address,
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
  });
  summary.warnings.push(...group.errors.map((e) => `A worker failed: ${e}`));
  attachClock(summary, clock);
  if (options.jsonPath) await writeSummaryJson(options.jsonPath, summary);

  if (
    summary.done === 0 && summary.failed > 0 && !phase.interrupted && group.errors.length === 0
  ) {
    const kind = commonestFailure(errors);
    const detail = kind === "other" && firstErrors[0] ? ` (${firstErrors[0]})` : "";
    const what = options.tls && kind === "other" ? "TLS handshake failed" : describeErrorKind(kind);
    const hint = options.tls && /certificate|issuer/i.test(firstErrors[0] ?? "")
      ? "; trust the server's certificate or its CA with --ca FILE"
      : "";
    throw new RunError(
      `Cannot connect to "${formatHostPort(options.target)}": ${what}${detail}${hint}`,
    );
  }
  printSummary(formatConnectSummary(summary), options.jsonPath);
  printSavedFiles(summary.csv, options.jsonPath);
  printSavedHlog(hlog, options.jsonPath);
  const exitCode = exitCodeOf(
    phase.interrupted,
    summary.failed > 0 || group.errors.length > 0,
  );
  return { summary, exitCode };
}
