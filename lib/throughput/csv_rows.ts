/**
 * The throughput CSV: one row per stream, interval and direction. Pure
 * functions from interval batches to rows, so the format is tested without
 * sockets.
 *
 * @module
 */
import type { CsvCell } from "../csv_writer.ts";
import { type IntervalBatch, TRANSFER_DIRECTIONS } from "../worker_protocol.ts";
import { intervalBounds, type IntervalSchedule } from "./schedule.ts";

/**
 * Columns of `throughput.csv`, units in the names:
 * - `stream` (global id, from 0), `worker` (the Web Worker that drove it)
 * - `direction`: `up` (bytes the client's writes handed to its socket) or
 *   `down` (bytes the client read)
 * - `interval_start_s`, `interval_end_s`: seconds since the common start;
 *   omitted intervals come first, and the last one ends early when the run
 *   was stopped
 * - `bytes`: bytes moved in the interval, `bits_per_sec`: bytes × 8 over its length
 * - `omitted`: 1 inside `--omit` (left out of the totals), else 0
 */
export const THROUGHPUT_CSV_HEADER = [
  "stream",
  "worker",
  "direction",
  "interval_start_s",
  "interval_end_s",
  "bytes",
  "bits_per_sec",
  "omitted",
] as const;

/** Bits per second of `bytes` moved in `seconds`; 0 for an empty span. */
export function bitsPerSec(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes * 8 / seconds : 0;
}

/** Rows of one batch, in the order of {@linkcode THROUGHPUT_CSV_HEADER}. */
export function throughputRows(batch: IntervalBatch, schedule: IntervalSchedule): CsvCell[][] {
  const rows: CsvCell[][] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const bounds = intervalBounds(schedule, batch.interval[i]);
    const endMs = batch.endMs[i];
    rows[i] = [
      batch.stream[i],
      batch.workerId,
      TRANSFER_DIRECTIONS[batch.direction[i]],
      (bounds.startMs / 1000).toFixed(3),
      (endMs / 1000).toFixed(3),
      batch.bytes[i],
      bitsPerSec(batch.bytes[i], (endMs - bounds.startMs) / 1000).toFixed(0),
      bounds.omitted ? 1 : 0,
    ];
  }
  return rows;
}
