/**
 * HdrHistogram interval logs (format v1.3, as HdrHistogram's
 * `HistogramLogWriter` writes them): values recorded in nanoseconds,
 * `Interval_Max` in microseconds, one line per tag and wall-clock-aligned
 * interval.
 *
 * - {@linkcode HlogRecording}: record samples while measuring, finished
 *   intervals appended to the file as they end (a crash keeps them).
 * - {@linkcode IntervalRecorder}, {@linkcode hlogHeaderLines},
 *   {@linkcode hlogIntervalLine}: the pure parts, for writing logs from
 *   histograms already in hand (e.g. a merge).
 * - {@linkcode readHlog} / {@linkcode parseHlog}: read and check a log; a
 *   truncated or malformed file is one {@linkcode HlogFormatError} naming
 *   the file and the line.
 *
 * @example
 * ```ts
 * import { HlogRecording, readHlog } from "./lib/hlog/mod.ts";
 * const log = HlogRecording.open({ path: "run.hlog", intervalMs: 1000, lateMs: 5200 });
 * log.begin(Date.now());
 * log.recordUs("node-1/latency", Date.now(), 87.5);
 * log.flushDue(Date.now());
 * log.finish(Date.now());
 * const { intervals } = await readHlog("run.hlog");
 * ```
 *
 * @module
 */
export * from "./format.ts";
export * from "./intervals.ts";
export * from "./writer.ts";
export * from "./reader.ts";
export * from "./options.ts";
