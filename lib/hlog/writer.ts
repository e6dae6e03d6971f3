/**
 * Writes an HdrHistogram interval log to a file while measuring: the header
 * at once, then each interval as soon as it is over, each in one synchronous
 * write, so a crash or Ctrl-C keeps every finished interval.
 *
 * @module
 */
import { RunError } from "../errors.ts";
import { type HlogHeader, hlogHeaderLines, type HlogInterval, hlogIntervalLine } from "./format.ts";
import { IntervalRecorder } from "./intervals.ts";

/** Appends interval lines to a log file whose header it wrote. */
export class HlogWriter {
  readonly path: string;
  #baseEpochMs: number | undefined;
  #file: Deno.FsFile;
  #encoder = new TextEncoder();
  #intervals = 0;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /** Creates (or truncates) `path` and writes the header. */
  static create(path: string, header: HlogHeader): HlogWriter {
    const writer = HlogWriter.open(path);
    writer.writeHeader(header);
    return writer;
  }

  /** Creates (or truncates) `path`; {@linkcode writeHeader} must come before any interval. */
  static open(path: string): HlogWriter {
    try {
      return new HlogWriter(
        path,
        Deno.openSync(path, { write: true, create: true, truncate: true }),
      );
    } catch (error) {
      throw new RunError(`Cannot create histogram log "${path}": ${(error as Error).message}`);
    }
  }

  /** Writes the header; interval times are then relative to its start. */
  writeHeader(header: HlogHeader): void {
    if (this.#baseEpochMs !== undefined) throw new Error(`Header of "${this.path}" written twice`);
    this.#baseEpochMs = header.startEpochMs;
    this.#write(hlogHeaderLines(header));
  }

  /** Interval lines written so far. */
  get intervalCount(): number {
    return this.#intervals;
  }

  /** Appends intervals, in one write. */
  writeIntervals(intervals: readonly HlogInterval[]): void {
    if (intervals.length === 0) return;
    const base = this.#baseEpochMs;
    if (base === undefined) throw new Error(`Interval before the header of "${this.path}"`);
    this.#write(intervals.map((i) => hlogIntervalLine(i, base)));
    this.#intervals += intervals.length;
  }

  #write(lines: string[]): void {
    const bytes = this.#encoder.encode(lines.map((line) => line + "\n").join(""));
    let offset = 0;
    while (offset < bytes.length) offset += this.#file.writeSync(bytes.subarray(offset));
  }

  /** Closes the file; further writes throw. */
  close(): void {
    this.#file.close();
  }
}

/** What {@linkcode HlogRecording.open} needs. */
export interface HlogRecordingOptions {
  path: string;
  /** Length of an interval; boundaries are multiples of it since the epoch. @default {1000} */
  intervalMs: number;
  /**
   * How long after an interval's end a sample that started in it may still
   * arrive (its round trip's timeout plus the Workers' batch period); the
   * interval is written once that much time has passed.
   */
  lateMs: number;
  /** Comments for the header, e.g. which command wrote the log and in which unit. */
  comments?: readonly string[];
}

/**
 * An interval log being recorded: opened before the run (so a path that
 * cannot be written fails before anything is measured), its header written
 * when measuring begins, samples recorded as they arrive, finished
 * intervals written when {@linkcode flushDue} is called, the rest on
 * {@linkcode finish}.
 */
export class HlogRecording {
  readonly path: string;
  readonly intervalMs: number;
  readonly lateMs: number;
  #comments: readonly string[];
  #writer: HlogWriter;
  #recorder: IntervalRecorder | undefined;

  private constructor(options: HlogRecordingOptions, writer: HlogWriter) {
    this.path = options.path;
    this.intervalMs = options.intervalMs;
    this.lateMs = options.lateMs;
    this.#comments = options.comments ?? [];
    this.#writer = writer;
  }

  /** Creates (or truncates) the file. */
  static open(options: HlogRecordingOptions): HlogRecording {
    return new HlogRecording(options, HlogWriter.open(options.path));
  }

  /** Interval lines written so far. */
  get intervalCount(): number {
    return this.#writer.intervalCount;
  }

  /** Measuring begins at `startEpochMs`: writes the header (StartTime and BaseTime). */
  begin(startEpochMs: number): void {
    if (this.#recorder) return;
    this.#writer.writeHeader({ startEpochMs, comments: this.#comments });
    this.#recorder = new IntervalRecorder({ intervalMs: this.intervalMs, startEpochMs });
  }

  #started(atEpochMs: number): IntervalRecorder {
    if (!this.#recorder) this.begin(atEpochMs);
    return this.#recorder!;
  }

  /**
   * Records one sample in µs (NaN, a failure, is skipped) that started at
   * `atEpochMs`; begins the log there if {@linkcode begin} was not called.
   */
  recordUs(tag: string, atEpochMs: number, valueUs: number): void {
    this.#started(atEpochMs).recordUs(tag, atEpochMs, valueUs);
  }

  /**
   * Records a batch of samples as Workers send them: start times in µs
   * since `originEpochMs`, values in µs (NaN for failures).
   */
  recordBatch(
    tag: string,
    originEpochMs: number,
    startUs: Float64Array,
    valueUs: Float64Array,
    length: number,
  ): void {
    for (let i = 0; i < length; i++) {
      this.recordUs(tag, originEpochMs + startUs[i] / 1000, valueUs[i]);
    }
  }

  /** Writes the intervals that ended more than `lateMs` before `nowEpochMs`. */
  flushDue(nowEpochMs: number): void {
    if (!this.#recorder) return;
    this.#writer.writeIntervals(this.#recorder.takeEndedBefore(nowEpochMs - this.lateMs));
  }

  /**
   * Writes every interval left (the last one ends at `endEpochMs`, the end
   * of the measured window) and closes the file. A log that never began
   * still gets its header, starting at `endEpochMs`.
   */
  finish(endEpochMs: number): void {
    const recorder = this.#started(endEpochMs);
    this.#writer.writeIntervals(recorder.takeAll(endEpochMs));
    this.#writer.close();
  }
}
