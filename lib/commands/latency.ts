/**
 * `netspeed latency HOST:PORT`: closed-loop ping-pong from Web Workers,
 * every attempt written to CSV as it arrives, percentiles from the merged
 * HDR histograms.
 *
 * @module
 */
import process from "node:process";
import { CsvWriter } from "../csv_writer.ts";
import { ExitCode, type ExitCodeValue, RunError } from "../errors.ts";
import { createHistogram, decodeHistogram, type Histogram, mergeHistograms } from "../histogram.ts";
import { describeErrorKind } from "../net_io.ts";
import { ProgressBar } from "../progress.ts";
import { newRunInfo, sharedClockMs } from "../run_info.ts";
import { onInterrupt } from "../signals.ts";
import { formatHostPort } from "../units.ts";
import { ERROR_KINDS, type FromLatencyWorker, type ToLatencyWorker } from "../worker_protocol.ts";
import { LATENCY_CSV_HEADER, latencyRows } from "../latency/csv_rows.ts";
import { type LatencyOptions, plannedRoundTrips, planWorkers } from "../latency/options.ts";
import {
  formatLatencySummary,
  type LatencySummary,
  summarizeLatency,
  zeroErrorCounts,
} from "../latency/summary.ts";

const WORKER_URL = new URL("../latency/worker.ts", import.meta.url).href;

/** What a finished run hands to callers such as `bench`. */
export interface LatencyResult {
  summary: LatencySummary;
  exitCode: ExitCodeValue;
}

/** Runs the test, prints the summary, writes the files; resolves with the exit code. */
export async function latency(options: LatencyOptions): Promise<ExitCodeValue> {
  const result = await runLatency(options);
  return result.exitCode;
}

/** Like {@linkcode latency}, also returning the summary. */
export async function runLatency(options: LatencyOptions): Promise<LatencyResult> {
  const run = newRunInfo();
  const runStartEpochMs = sharedClockMs();
  const csv = options.csvPath
    ? await CsvWriter.create(options.csvPath, LATENCY_CSV_HEADER)
    : undefined;
  const jobs = planWorkers(options, runStartEpochMs);
  const planned = plannedRoundTrips(options);

  const errors = zeroErrorCounts();
  const perWorker = jobs.map(() => ({ histogram: createHistogram() as Histogram, failed: 0 }));
  let attempts = 0;
  let readyWorkers = 0;
  let liveConnections = 0;
  let finishedWorkers = 0;
  let interrupted = false;
  const workerErrors: string[] = [];
  const allReady = Promise.withResolvers<void>();
  const allDone = Promise.withResolvers<void>();

  const workers = jobs.map((job) => {
    const worker = new Worker(WORKER_URL, { type: "module", name: `latency-${job.workerId}` });
    const finish = () => {
      worker.terminate();
      if (++finishedWorkers === jobs.length) allDone.resolve();
      // A worker that dies before it is ready must not hold the others.
      readyWorker(0);
    };
    let ready = false;
    const readyWorker = (live: number) => {
      if (ready) return;
      ready = true;
      liveConnections += live;
      if (++readyWorkers === jobs.length) allReady.resolve();
    };
    worker.onmessage = (event: MessageEvent<FromLatencyWorker>) => {
      const message = event.data;
      switch (message.type) {
        case "batch": {
          const { batch } = message;
          csv?.writeRows(latencyRows(batch));
          attempts += batch.length;
          for (let i = 0; i < batch.length; i++) {
            const code = batch.error[i];
            if (code !== 0) {
              errors[ERROR_KINDS[code] as keyof typeof errors]++;
              perWorker[batch.workerId].failed++;
            }
          }
          break;
        }
        case "ready":
          readyWorker(message.liveConnections);
          break;
        case "done":
          perWorker[message.workerId].histogram = decodeHistogram(message.histogram);
          finish();
          break;
        case "error":
          workerErrors.push(`worker ${message.workerId}: ${message.message}`);
          finish();
          break;
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      workerErrors.push(`worker ${job.workerId}: ${event.message}`);
      finish();
    };
    return worker;
  });
  const send = (message: ToLatencyWorker) => {
    for (const worker of workers) {
      try {
        worker.postMessage(message);
      } catch { /* already terminated */ }
    }
  };

  const removeSignalListeners = onInterrupt(() => {
    interrupted = true;
    send({ type: "stop" });
  });
  jobs.forEach((job, i) =>
    workers[i].postMessage({ type: "start", job } satisfies ToLatencyWorker)
  );

  await Promise.race([allReady.promise, allDone.promise]);
  const measureStartEpochMs = sharedClockMs();
  const cpuStart = process.cpuUsage();
  send({
    type: "go",
    deadlineEpochMs: options.durationMs === undefined
      ? undefined
      : measureStartEpochMs + options.durationMs,
  });
  const progress = options.progress === "auto" && ProgressBar.wanted()
    ? new ProgressBar(() => ({
      done: attempts,
      planned,
      plannedMs: options.durationMs,
      unit: "round trips",
    })).start()
    : undefined;

  await allDone.promise;
  const measuredSeconds = (sharedClockMs() - measureStartEpochMs) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  progress?.stop();
  removeSignalListeners();
  csv?.close();

  const summary = summarizeLatency({
    options,
    run,
    planned,
    interrupted,
    measuredSeconds,
    merged: mergeHistograms(perWorker.map((w) => w.histogram)),
    perWorker,
    errors,
    cpu: {
      userSeconds: cpu.user / 1e6,
      systemSeconds: cpu.system / 1e6,
      cores: navigator.hardwareConcurrency,
    },
    csv: csv ? { path: csv.path, rows: csv.rowCount } : null,
  });
  summary.warnings.push(...workerErrors.map((e) => `A worker failed: ${e}`));
  if (options.jsonPath) {
    try {
      await Deno.writeTextFile(options.jsonPath, JSON.stringify(summary, null, 2) + "\n");
    } catch (error) {
      throw new RunError(
        `Cannot write JSON file "${options.jsonPath}": ${(error as Error).message}`,
      );
    }
  }

  if (liveConnections === 0 && !interrupted && workerErrors.length === 0) {
    const kind = (Object.entries(errors).find(([, n]) =>
      n > 0
    )?.[0] ?? "other") as keyof typeof errors;
    throw new RunError(
      `Cannot connect to "${formatHostPort(options.target)}": ${describeErrorKind(kind)}`,
    );
  }
  console.log(formatLatencySummary(summary));
  if (csv) console.log(`CSV: ${csv.path} (${csv.rowCount} rows)`);
  if (options.jsonPath) console.log(`JSON: ${options.jsonPath}`);

  const exitCode = interrupted
    ? ExitCode.interrupted
    : summary.failed > 0 || workerErrors.length > 0
    ? ExitCode.failed
    : ExitCode.ok;
  return { summary, exitCode };
}
