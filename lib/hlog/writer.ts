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
  readonly baseEpochMs: number;
  #file: Deno.FsFile;
  #encoder = new TextEncoder();
  #intervals = 0;

  private constructor(path: string, file: Deno.FsFile, baseEpochMs: number) {
    this.path = path;
    this.#file = file;
    this.baseEpochMs = baseEpochMs;
  }

  /** Creates (or truncates) `path` and writes the header. */
  static create(path: string, header: HlogHeader): HlogWriter {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { write: true, create: true, truncate: true });
    } catch (error) {
      throw new RunError(`Cannot create histogram log "${path}": ${(error as Error).message}`);
    }
    const writer = new HlogWriter(path, file, header.startEpochMs);
    writer.#write(hlogHeaderLines(header));
    return writer;
  }

  /** Interval lines written so far. */
  get intervalCount(): number {
    return this.#intervals;
  }

  /** Appends intervals, in one write. */
  writeIntervals(intervals: readonly HlogInterval[]): void {
    if (intervals.length === 0) return;
    this.#write(intervals.map((i) => hlogIntervalLine(i, this.baseEpochMs)));
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

/** What {@linkcode HlogRecording.start} needs. */
export interface HlogRecordingOptions {
  path: string;
  /** Start of the measured window, ms since the epoch. */
  startEpochMs: number;
  /** @default {1000} */
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
 * An interval log being recorded: samples go in as they arrive, finished
 * intervals go to the file when {@linkcode flushDue} is called, the rest on
 * {@linkcode finish}.
 */
export class HlogRecording {
  readonly writer: HlogWriter;
  readonly recorder: IntervalRecorder;
  readonly lateMs: number;

  private constructor(writer: HlogWriter, recorder: IntervalRecorder, lateMs: number) {
    this.writer = writer;
    this.recorder = recorder;
    this.lateMs = lateMs;
  }

  /** Creates the file and writes its header. */
  static start(options: HlogRecordingOptions): HlogRecording {
    const writer = HlogWriter.create(options.path, {
      startEpochMs: options.startEpochMs,
      comments: options.comments,
    });
    const recorder = new IntervalRecorder(options);
    return new HlogRecording(writer, recorder, options.lateMs);
  }

  /** The file's path. */
  get path(): string {
    return this.writer.path;
  }

  /** Records one sample (µs, NaN for a failure, which is skipped) that started at `atEpochMs`. */
  recordUs(tag: string, atEpochMs: number, valueUs: number): void {
    this.recorder.recordUs(tag, atEpochMs, valueUs);
  }

  /** Writes the intervals that ended more than `lateMs` before `nowEpochMs`. */
  flushDue(nowEpochMs: number): void {
    this.writer.writeIntervals(this.recorder.takeEndedBefore(nowEpochMs - this.lateMs));
  }

  /** Writes every interval left (the last one ends at `endEpochMs`) and closes the file. */
  finish(endEpochMs: number): void {
    this.writer.writeIntervals(this.recorder.takeAll(endEpochMs));
    this.writer.close();
  }
}
