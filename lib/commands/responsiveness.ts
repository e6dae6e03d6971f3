/**
 * `netspeed responsiveness HOST`: latency probes on an idle path, then
 * while throughput streams load it both ways (flent's RRUL, Apple's
 * networkQuality), every probe written to CSV with its phase, and the
 * round trips per minute of each phase as the IETF responsiveness draft
 * computes them (see `lib/responsiveness/rpm.ts`).
 *
 * @module
 */
import { attachClock, clockCheckFor } from "../clock/clock_check.ts";
import { printSavedFiles, printSummary, writeSummaryJson } from "../saved_files.ts";
import { sleepUntil } from "../worker_group.ts";
import { openRunHlog, printSavedHlog, runHlogTag } from "../hlog/options.ts";
import { CsvWriter } from "../csv_writer.ts";
import { exitCodeOf, type ExitCodeValue, RunError } from "../errors.ts";
import { classifyError, describeErrorKind } from "../net_io.ts";
import { ProgressBar } from "../progress.ts";
import { Load } from "../responsiveness/load.ts";
import {
  type PhasedSample,
  RESPONSIVENESS_CSV_HEADER,
  responsivenessRow,
} from "../responsiveness/csv_rows.ts";
import type { ResponsivenessOptions } from "../responsiveness/options.ts";
import { Prober, type ProbeSample } from "../responsiveness/probes.ts";
import {
  formatResponsivenessSummary,
  type ResponsivenessSummary,
  summarizeResponsiveness,
} from "../responsiveness/summary.ts";
import { newRunInfo, sharedClockMs } from "../run_info.ts";
import { onInterrupt } from "../signals.ts";
import { formatHostPort } from "../units.ts";

/** Margin between the go message and the load's start, so both workers get it in time. */
const START_MARGIN_MS = 20;
/** Load bytes are counted in intervals of this length (the report's time resolution). */
const LOAD_INTERVAL_MS = 250;

/** What a finished run hands to callers such as `bench`. */
export interface ResponsivenessResult {
  summary: ResponsivenessSummary;
  exitCode: ExitCodeValue;
}

/** Runs the test, prints the summary, writes the files; resolves with the exit code. */
export async function responsiveness(options: ResponsivenessOptions): Promise<ExitCodeValue> {
  return (await runResponsiveness(options)).exitCode;
}

/** Like {@linkcode responsiveness}, also returning the summary. */
export async function runResponsiveness(
  options: ResponsivenessOptions,
): Promise<ResponsivenessResult> {
  // Before anything else loads the path, so the round trips are short.
  const clock = await clockCheckFor(options.host, options.timePort, options.timeoutMs);
  // One reading for both: the CSV's time zero and the run's recorded start (to the ms).
  const runStartEpochMs = sharedClockMs();
  const run = newRunInfo(new Date(runStartEpochMs));
  const target = options.host.includes(":") ? `[${options.host}]` : options.host;
  const echo = { host: options.host, port: options.ports.echo };
  const csv = options.csvPath
    ? await CsvWriter.create(options.csvPath, RESPONSIVENESS_CSV_HEADER)
    : undefined;

  // Probes report when they finish, so no sample arrives later than its timeout.
  const hlog = openRunHlog(options.hlog, "responsiveness", options.timeoutMs);
  const hlogTags = new Map<string, string>();
  const tagOf = (sample: PhasedSample) => {
    const key = `${sample.phase}/${sample.kind}`;
    let tag = hlogTags.get(key);
    if (tag === undefined) {
      hlogTags.set(key, tag = runHlogTag(`responsiveness/${key}`, options.nodeId));
    }
    return tag;
  };
  const samples: PhasedSample[] = [];
  let loadStartEpochMs: number | undefined;
  let loadEndEpochMs: number | undefined;
  const onSample = (s: ProbeSample) => {
    // A probe belongs to the phase it started in; none start after the load ends.
    const loaded = loadStartEpochMs !== undefined && s.startEpochMs >= loadStartEpochMs;
    // Until the workers report done, the end is the planned one; a busy
    // machine can take a while to report it.
    const loadEnd = loadEndEpochMs ??
      (loadStartEpochMs === undefined ? undefined : loadStartEpochMs + options.loadedMs);
    if (loadEnd !== undefined && s.startEpochMs >= loadEnd) return;
    const sample: PhasedSample = {
      phase: loaded ? "loaded" : "idle",
      kind: s.kind,
      connection: s.connection,
      seq: s.seq,
      startUs: (s.startEpochMs - runStartEpochMs) * 1000,
      rttUs: s.rttUs,
      error: s.error,
    };
    samples.push(sample);
    csv?.writeRows([responsivenessRow(sample)]);
    hlog?.recordUs(tagOf(sample), s.startEpochMs, s.rttUs);
    hlog?.flushDue(sharedClockMs());
  };

  let prober: Prober;
  try {
    prober = await Prober.open({
      host: options.host,
      port: options.ports.echo,
      intervalMs: options.probeIntervalMs,
      selfConnections: options.selfConnections,
      timeoutMs: options.timeoutMs,
    }, onSample);
  } catch (error) {
    csv?.close();
    hlog?.finish(sharedClockMs());
    throw new RunError(
      `Cannot connect to "${formatHostPort(echo)}" (echo): ${
        describeErrorKind(classifyError(error))
      }`,
    );
  }

  let interrupted = false;
  let load: Load | undefined;
  const wake = Promise.withResolvers<void>();
  const removeSignalListeners = onInterrupt(() => {
    interrupted = true;
    load?.stop();
    wake.resolve();
  });
  const sleep = (ms: number) =>
    Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), wake.promise]);
  const totalMs = options.idleMs + options.loadedMs;
  const progress = options.progress === "auto" && ProgressBar.wanted()
    ? new ProgressBar(() => ({
      done: samples.length,
      plannedMs: totalMs,
      unit: loadStartEpochMs === undefined ? "probes (idle)" : "probes (loaded)",
    })).start()
    : undefined;

  // Idle: probes alone, from --start-at when one was given.
  if (options.startAtEpochMs !== undefined) {
    await sleepUntil(options.startAtEpochMs, () => interrupted);
  }
  const measuringEpochMs = sharedClockMs();
  hlog?.begin(measuringEpochMs);
  prober.start();
  await sleep(options.idleMs);

  // Loaded: the same probes while the streams run.
  let liveStreams = 0;
  let failedStreams = 0;
  const workerErrors: string[] = [];
  if (!interrupted) {
    load = await Load.connect({
      host: options.host,
      ports: options.ports,
      streams: options.streams,
      blockBytes: options.blockBytes,
      timeoutMs: options.timeoutMs,
      durationMs: options.loadedMs,
      intervalMs: LOAD_INTERVAL_MS,
    });
    liveStreams = load.liveStreams;
    if (interrupted) load.stop();
    else if (liveStreams > 0) {
      loadStartEpochMs = sharedClockMs() + START_MARGIN_MS;
      load.go(loadStartEpochMs);
      await load.done;
      loadEndEpochMs = interrupted
        ? sharedClockMs()
        : Math.min(sharedClockMs(), loadStartEpochMs + options.loadedMs);
    } else {
      load.stop();
    }
    await load.done;
    failedStreams = new Set(load.tally.failures.map((f) => f.stream)).size;
    workerErrors.push(...load.workerErrors);
  }
  await prober.stop();
  const endEpochMs = sharedClockMs();
  progress?.stop();
  removeSignalListeners();
  csv?.close();
  hlog?.finish(sharedClockMs());

  const usSinceStart = (epochMs: number | undefined) =>
    epochMs === undefined ? null : (epochMs - runStartEpochMs) * 1000;
  const summary = summarizeResponsiveness({
    options,
    run,
    target,
    interrupted,
    timing: {
      askedStartEpochMs: options.startAtEpochMs ?? null,
      startEpochMs: measuringEpochMs,
      endEpochMs,
    },
    originEpochMs: runStartEpochMs,
    samples,
    loadStartUs: usSinceStart(loadStartEpochMs),
    loadEndUs: usSinceStart(loadEndEpochMs),
    liveStreams,
    failedStreams,
    loadIntervals: load?.tally.intervals() ?? [],
    skipped: prober.skipped,
    csv: csv ? { path: csv.path, rows: csv.rowCount } : null,
  });
  if (load && liveStreams === 0 && !interrupted) {
    const first = load.tally.failures[0];
    summary.warnings.push(
      `No load stream connected (${
        first ? describeErrorKind(first.kind) : "no stream"
      }): there is no loaded phase`,
    );
  }
  summary.warnings.push(...workerErrors.map((e) => `A worker failed: ${e}`));
  attachClock(summary, clock);
  if (options.jsonPath) await writeSummaryJson(options.jsonPath, summary);
  printSummary(formatResponsivenessSummary(summary), options.jsonPath);
  printSavedFiles(summary.csv, options.jsonPath);
  printSavedHlog(hlog, options.jsonPath);
  const failed = summary.loaded === null || failedStreams > 0 || workerErrors.length > 0 ||
    summary.idle.responsiveness.rpm === null || summary.loaded.responsiveness.rpm === null;
  return { summary, exitCode: exitCodeOf(interrupted, failed) };
}
