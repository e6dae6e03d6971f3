/**
 * `netspeed throughput HOST`: parallel TCP streams from Web Workers, up
 * to discard, down from chargen or both ways through echo, counted per
 * stream and interval on one shared clock, every interval row written to
 * CSV as it arrives.
 *
 * @module
 */
import { attachClock, clockCheckFor } from "../clock/clock_check.ts";
import { printSavedFiles, printSummary, writeSummaryJson } from "../saved_files.ts";
import { CsvWriter } from "../csv_writer.ts";
import { exitCodeOf, type ExitCodeValue, RunError } from "../errors.ts";
import { describeErrorKind } from "../net_io.ts";
import { newRunInfo, sharedClockMs } from "../run_info.ts";
import { formatHostPort } from "../units.ts";
import type {
  FromThroughputWorker,
  ThroughputJob,
  ToThroughputWorker,
} from "../worker_protocol.ts";
import { measure, phaseTiming, startInstant, WorkerGroup } from "../worker_group.ts";
import { THROUGHPUT_CSV_HEADER, throughputRows } from "../throughput/csv_rows.ts";
import {
  planThroughputWorkers,
  scheduleOf,
  serviceOf,
  type ThroughputOptions,
} from "../throughput/options.ts";
import { ThroughputProgress } from "../throughput/progress_line.ts";
import { totalMs } from "../throughput/schedule.ts";
import {
  formatThroughputSummary,
  summarizeThroughput,
  type ThroughputSummary,
} from "../throughput/summary.ts";
import { ThroughputTally } from "../throughput/tally.ts";

const WORKER_URL = new URL("../throughput/worker.ts", import.meta.url).href;

/**
 * Margin between the go message and the common start, so every worker
 * gets it in time even on a loaded machine (20 ms was seen to fall short).
 */
const START_MARGIN_MS = 50;

/** What a finished run hands to callers such as `bench`. */
export interface ThroughputResult {
  summary: ThroughputSummary;
  exitCode: ExitCodeValue;
}

/** Runs the test, prints the summary, writes the files; resolves with the exit code. */
export async function throughput(options: ThroughputOptions): Promise<ExitCodeValue> {
  return (await runThroughput(options)).exitCode;
}

/**
 * Like {@linkcode throughput}, also returning the summary. `sharedCsv`
 * lets runs made one after the other (as `bench` makes) write into one
 * file, which the caller then closes; `options.csvPath` is ignored then.
 */
export async function runThroughput(
  options: ThroughputOptions,
  sharedCsv?: CsvWriter,
): Promise<ThroughputResult> {
  // Before anything else loads the path, so the round trips are short.
  const clock = await clockCheckFor(options.host, options.timePort, options.timeoutMs);
  const run = newRunInfo();
  const schedule = scheduleOf(options);
  const csv = sharedCsv ??
    (options.csvPath ? await CsvWriter.create(options.csvPath, THROUGHPUT_CSV_HEADER) : undefined);
  const rowsBefore = csv?.rowCount ?? 0;
  const jobs = planThroughputWorkers(options);
  const tally = new ThroughputTally(schedule);

  let liveStreams = 0;
  const group = WorkerGroup.start<ThroughputJob, ToThroughputWorker, FromThroughputWorker>({
    url: WORKER_URL,
    name: "throughput",
    jobs,
    onMessage(message) {
      if (message.type === "intervals") {
        csv?.writeRows(throughputRows(message.batch, schedule));
        tally.add(message.batch);
      } else if (message.type === "ready") {
        for (const failure of message.failures) tally.addFailure(message.workerId, failure);
        liveStreams += message.liveStreams;
      } else if (message.type === "failure") {
        tally.addFailure(message.workerId, message.failure);
      }
    },
  });
  // Every stream starts counting at the same instant, a little after "go"
  // so the message reaches every worker first.
  let startEpochMs = 0;
  const phase = await measure(group, {
    go: (nowEpochMs): ToThroughputWorker => {
      startEpochMs = startInstant(nowEpochMs, START_MARGIN_MS, options.startAtEpochMs);
      return { type: "go", startEpochMs };
    },
    stop: { type: "stop" },
    startAtEpochMs: options.startAtEpochMs,
    leadMs: START_MARGIN_MS,
    progress: () => {
      if (options.progress !== "auto" || !Deno.stderr.isTerminal() || liveStreams === 0) {
        return undefined;
      }
      const line = new ThroughputProgress(() => {
        const latest = tally.latestFinished();
        return {
          elapsedMs: sharedClockMs() - startEpochMs,
          plannedMs: totalMs(schedule),
          omitting: sharedClockMs() - startEpochMs < options.omitMs,
          latest: latest
            ? {
              endSeconds: latest.endMs / 1000,
              bitsPerSec: Object.fromEntries(
                [...latest.directions].map(([d, x]) => [
                  d,
                  x.bytes * 8 / ((latest.endMs - latest.startMs) / 1000),
                ]),
              ),
            }
            : null,
        };
      }).start();
      return () => line.stop();
    },
  });
  if (!sharedCsv) csv?.close();
  const interrupted = phase.interrupted;
  const workerErrors = group.errors;

  const summary = summarizeThroughput({
    options,
    run,
    interrupted,
    timing: phaseTiming(phase, startEpochMs),
    originEpochMs: startEpochMs,
    endMs: tally.endMs,
    streams: tally.streams(),
    intervals: tally.intervals(),
    failures: tally.failures,
    cpu: phase.cpu,
    csv: csv ? { path: csv.path, rows: csv.rowCount - rowsBefore } : null,
  });
  summary.warnings.push(...workerErrors.map((e) => `A worker failed: ${e}`));
  attachClock(summary, clock);
  if (options.jsonPath) await writeSummaryJson(options.jsonPath, summary);

  if (liveStreams === 0 && !interrupted && workerErrors.length === 0) {
    const service = serviceOf(options.direction);
    const first = tally.failures[0];
    throw new RunError(
      `Cannot connect to "${
        formatHostPort({ host: options.host, port: options.ports[service] })
      }" (${service}): ${first ? describeErrorKind(first.kind) : "no stream connected"}`,
    );
  }
  printSummary(formatThroughputSummary(summary), options.jsonPath);
  printSavedFiles(summary.csv, options.jsonPath);
  const failed = tally.failures.length > 0 || workerErrors.length > 0;
  return { summary, exitCode: exitCodeOf(interrupted, failed) };
}
