/**
 * Reads and checks an HdrHistogram interval log (versions 1.x, as written
 * by HdrHistogram's `HistogramLogWriter`, by {@linkcode HlogWriter} or by
 * hdr-histogram-js). Unlike the readers of HdrHistogram, which stop quietly
 * at the first line they cannot parse, this one refuses a truncated or
 * malformed file with one line naming the file, the line and what is wrong.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";
import { RunError } from "../errors.ts";
import { createHistogram, type Histogram } from "../histogram.ts";
import { HLOG_LEGEND, type HlogInterval } from "./format.ts";

/** A log that cannot be read: the message names the file and the line. */
export class HlogFormatError extends RunError {
  override name = "HlogFormatError";
  /** 1-based line number; 0 when the file as a whole is wrong. */
  readonly line: number;
  constructor(path: string, line: number, problem: string) {
    super(
      line > 0
        ? `Histogram log "${path}", line ${line}: ${problem}`
        : `Histogram log "${path}": ${problem}`,
    );
    this.line = line;
  }
}

/** One interval as read, with where it came from. */
export interface HlogReadInterval extends HlogInterval {
  /** `Interval_Max` as written (in the writer's unit; microseconds in netspeed's logs). */
  maxField: number;
  /** 1-based line number in the file. */
  line: number;
}

/** A whole log. */
export interface HlogLog {
  path: string;
  /** From `#[Histogram log format version …]`; `null` when the file does not say. */
  version: string | null;
  /** From `#[StartTime: …]`, ms since the epoch; `null` when absent. */
  startEpochMs: number | null;
  /** What interval times are relative to, ms since the epoch (0 when they are absolute). */
  baseEpochMs: number;
  /** Other `#` comment lines, without the `#`. */
  comments: string[];
  /** Intervals in file order; times absolute (ms since the epoch). */
  intervals: HlogReadInterval[];
}

const YEAR_SEC = 365 * 24 * 3600;

function headerSeconds(line: string): number {
  // "#[StartTime: 1764254672.123 (seconds since epoch), …]"
  return Number(line.slice(line.indexOf(":") + 1).trim().split(/[\s,\]]/)[0]);
}

function decodePayload(base64: string): Histogram {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new Error("not Base64");
  const decoded = hdr.decodeFromCompressedBase64(base64, 64, false);
  // Copy into netspeed's standard range so merges with other logs cannot overflow.
  const histogram = createHistogram();
  histogram.add(decoded);
  return histogram;
}

/**
 * Parses the text of a log; `path` only names it in errors.
 *
 * @throws {HlogFormatError} on the first line that is not a comment, the
 * legend or a valid interval, and on a file with no log header nor interval.
 */
export function parseHlog(text: string, path: string): HlogLog {
  const lines = text.split(/\r\n|\r|\n/);
  const endsWithNewline = /[\r\n]$/.test(text);
  if (endsWithNewline) lines.pop();
  const log: HlogLog = {
    path,
    version: null,
    startEpochMs: null,
    baseEpochMs: 0,
    comments: [],
    intervals: [],
  };
  let baseSec: number | null = null;
  let startSec: number | null = null;
  let sawHeader = false;

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    const fail = (problem: string): never => {
      const truncated = i === lines.length - 1 && !endsWithNewline
        ? " (the file ends in this line: truncated?)"
        : "";
      throw new HlogFormatError(path, lineNo, problem + truncated);
    };
    if (line === "") return;
    if (line.startsWith("#")) {
      const version = /^#\[Histogram log format version ([0-9.]+)\]/.exec(line);
      if (version) {
        if (!version[1].startsWith("1.")) fail(`unsupported log format version "${version[1]}"`);
        log.version = version[1];
        sawHeader = true;
      } else if (line.startsWith("#[StartTime:")) {
        startSec = headerSeconds(line);
        if (!Number.isFinite(startSec)) fail(`StartTime is not a number: "${line}"`);
        sawHeader = true;
      } else if (line.startsWith("#[BaseTime:")) {
        baseSec = headerSeconds(line);
        if (!Number.isFinite(baseSec)) fail(`BaseTime is not a number: "${line}"`);
        sawHeader = true;
      } else {
        log.comments.push(line.slice(1));
      }
      return;
    }
    if (line.startsWith('"StartTimestamp"') || line === HLOG_LEGEND) return;

    const fields = line.split(",");
    let tag: string | null = null;
    if (fields[0].startsWith("Tag=")) tag = fields.shift()!.slice("Tag=".length);
    if (fields.length !== 4) {
      fail(
        `expected an interval "[Tag=…,]start,length,max,histogram", found ${fields.length} ` +
          `field(s) after the tag`,
      );
    }
    const [startField, lengthField, maxField, payload] = fields.map((f) => f.trim());
    const startTs = Number(startField);
    const lengthSec = Number(lengthField);
    const max = Number(maxField);
    if (startField === "" || !Number.isFinite(startTs)) {
      fail(`interval start "${startField}" is not a number`);
    }
    if (lengthField === "" || !Number.isFinite(lengthSec) || lengthSec < 0) {
      fail(`interval length "${lengthField}" is not a number of seconds`);
    }
    if (maxField === "" || !Number.isFinite(max)) {
      fail(`interval max "${maxField}" is not a number`);
    }
    let histogram: Histogram;
    try {
      histogram = decodePayload(payload);
    } catch (error) {
      return fail(
        `the compressed histogram cannot be decoded (${(error as Error).message || "corrupt"})`,
      );
    }
    if (baseSec === null) {
      // As HdrHistogram's reader: times far before StartTime are relative to it.
      baseSec = startSec !== null && startTs < startSec - YEAR_SEC ? startSec : 0;
    }
    const startEpochMs = (baseSec + startTs) * 1000;
    log.intervals.push({
      tag,
      startEpochMs,
      endEpochMs: startEpochMs + lengthSec * 1000,
      histogram,
      maxField: max,
      line: lineNo,
    });
  });

  if (!sawHeader && log.intervals.length === 0) {
    throw new HlogFormatError(
      path,
      0,
      text.trim() === ""
        ? "the file is empty"
        : "not an HdrHistogram interval log (no header and no interval line)",
    );
  }
  log.startEpochMs = startSec === null ? null : startSec * 1000;
  log.baseEpochMs = (baseSec ?? 0) * 1000;
  return log;
}

/** Reads and parses a log file; see {@linkcode parseHlog}. */
export async function readHlog(path: string): Promise<HlogLog> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new RunError(`Cannot read histogram log "${path}": ${(error as Error).message}`);
  }
  return parseHlog(text, path);
}

/** The tags of a log's intervals, in order of first appearance (`null` for untagged lines). */
export function hlogTags(log: HlogLog): (string | null)[] {
  return [...new Set(log.intervals.map((i) => i.tag))];
}
