/**
 * The text of an HdrHistogram interval log, version 1.3, as HdrHistogram's
 * own `HistogramLogWriter` writes it, so that `HistogramLogProcessor`,
 * HistogramLogAnalyzer and the hdr-histogram-js reader all read our files:
 *
 * ```text
 * #[netspeed latency: values recorded in nanoseconds, Interval_Max in microseconds (value unit ratio 1000)]
 * #[Histogram log format version 1.3]
 * #[StartTime: 1764254672.123 (seconds since epoch), 2026-11-27T14:44:32.123Z]
 * #[BaseTime: 1764254672.123 (seconds since epoch)]
 * "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
 * Tag=node-1/latency,0.000,0.877,312.319,HISTFAAAA…
 * ```
 *
 * Interval start times are seconds since `BaseTime`; BaseTime is always
 * written, so a reader never has to guess whether times are absolute.
 * Pure functions from data to lines: the file is the caller's business.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";
import type { Histogram } from "../histogram.ts";

/** The log format version written (HdrHistogram's `HistogramLogWriter` writes the same). */
export const HLOG_FORMAT_VERSION = "1.3";

/**
 * The histograms in our logs record nanoseconds; `Interval_Max` is divided
 * by this ratio, so it reads in microseconds like every other netspeed
 * figure. HdrHistogram's `HistogramLogProcessor` prints milliseconds unless
 * given `-outputValueUnitRatio 1000` (microseconds).
 */
export const HLOG_MAX_VALUE_UNIT_RATIO = 1000;

/** The legend line HdrHistogram writes after the header comments. */
export const HLOG_LEGEND =
  '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"';

/** One interval of a log: the histogram of the values recorded in a wall-clock window. */
export interface HlogInterval {
  /** Names the series (node and kind, e.g. `node-1/latency`); `null` writes an untagged line. */
  tag: string | null;
  /** Start of the window, ms since the Unix epoch. */
  startEpochMs: number;
  /** End of the window, ms since the Unix epoch. */
  endEpochMs: number;
  /** Values in nanoseconds. */
  histogram: Histogram;
}

/** What the header of a log says. */
export interface HlogHeader {
  /** When the log starts, ms since the Unix epoch; also its BaseTime. */
  startEpochMs: number;
  /** Free text written as `#[…]` comments before the version line (no line breaks). */
  comments?: readonly string[];
}

/** Seconds with three decimals, as Java's `%.3f` writes them. */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/**
 * Makes a tag HdrHistogram can read back: tags end at a comma and readers
 * split on spaces, so both become `_`.
 */
export function hlogTag(...parts: string[]): string {
  return parts.join("/").replace(/[\s,]/g, "_");
}

/** The header lines (without line breaks): comments, version, StartTime, BaseTime, legend. */
export function hlogHeaderLines(header: HlogHeader): string[] {
  const comments = (header.comments ?? []).map((c) => `#[${c.replace(/[\r\n]+/g, " ")}]`);
  return [
    ...comments,
    `#[Histogram log format version ${HLOG_FORMAT_VERSION}]`,
    `#[StartTime: ${seconds(header.startEpochMs)} (seconds since epoch), ${
      new Date(header.startEpochMs).toISOString()
    }]`,
    `#[BaseTime: ${seconds(header.startEpochMs)} (seconds since epoch)]`,
    HLOG_LEGEND,
  ];
}

/**
 * One interval line (without line break), its times in seconds since
 * `baseEpochMs` (the header's `startEpochMs`).
 */
export function hlogIntervalLine(interval: HlogInterval, baseEpochMs: number): string {
  const { histogram } = interval;
  const maxUnits = histogram.totalCount === 0 ? 0 : histogram.maxValue / HLOG_MAX_VALUE_UNIT_RATIO;
  const fields = [
    seconds(interval.startEpochMs - baseEpochMs),
    seconds(interval.endEpochMs - interval.startEpochMs),
    maxUnits.toFixed(3),
    hdr.encodeIntoCompressedBase64(histogram),
  ].join(",");
  return interval.tag === null ? fields : `Tag=${hlogTag(interval.tag)},${fields}`;
}
