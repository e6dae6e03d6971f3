/**
 * `--hlog FILE` and `--hlog-interval DURATION`, shared by `latency`,
 * `connect` and `responsiveness`.
 *
 * @module
 */
import { Option } from "commander";
import { UsageError } from "../errors.ts";
import { DEFAULT_HLOG_INTERVAL_MS, type HlogOptions } from "../hlog/options.ts";
import { parseDurationMs } from "../units.ts";

/** Raw values of the two flags. */
export interface HlogFlags {
  hlog?: string;
  hlogInterval?: string;
}

/** `--hlog FILE`, for `.addOption()`. */
export function hlogOption(): Option {
  return new Option(
    "--hlog <file>",
    "write an HdrHistogram interval log (v1.3; ns values, max in µs), one histogram per interval, during the run",
  );
}

/** `--hlog-interval DURATION`, for `.addOption()`. */
export function hlogIntervalOption(): Option {
  return new Option(
    "--hlog-interval <duration>",
    `length of the log's wall-clock-aligned intervals (default ${
      DEFAULT_HLOG_INTERVAL_MS / 1000
    }s)`,
  );
}

/** Pure: the log options, or `undefined` without `--hlog`. */
export function parseHlogFlags(flags: HlogFlags): HlogOptions | undefined {
  if (flags.hlog === undefined) {
    if (flags.hlogInterval !== undefined) {
      throw new UsageError(`Option --hlog-interval "${flags.hlogInterval}" needs --hlog FILE`);
    }
    return undefined;
  }
  if (flags.hlog.trim() === "") throw new UsageError(`Invalid --hlog "${flags.hlog}": empty path`);
  const intervalMs = flags.hlogInterval === undefined
    ? DEFAULT_HLOG_INTERVAL_MS
    : parseDurationMs(flags.hlogInterval, "--hlog-interval");
  if (intervalMs < 1 || !Number.isInteger(intervalMs)) {
    throw new UsageError(
      `Invalid --hlog-interval "${flags.hlogInterval}": must be a whole number of milliseconds`,
    );
  }
  return { path: flags.hlog, intervalMs };
}
