/**
 * The latency CSV: one row per attempt. Pure functions from sample batches
 * to rows, so the format is tested without sockets.
 *
 * @module
 */
import type { CsvCell } from "../csv_writer.ts";
import { ERROR_KINDS, type OpenLoopSampleBatch, type SampleBatch } from "../worker_protocol.ts";

/**
 * Columns of `latency.csv`, units in the names:
 * - `worker`, `connection` (global id), `seq` (measured round trip number on its connection)
 * - `start_us`: start of the attempt, µs since the run started, one clock for all workers
 * - `rtt_us`: full round-trip time in µs (empty when the attempt failed)
 * - `bytes`: payload bytes echoed (0 when failed)
 * - `error`: empty on success, else refused | reset | timeout | mismatch | closed | unreachable | other
 */
export const LATENCY_CSV_HEADER = [
  "worker",
  "connection",
  "seq",
  "start_us",
  "rtt_us",
  "bytes",
  "error",
] as const;

/** Rows of one batch, in the order of {@linkcode LATENCY_CSV_HEADER}. */
export function latencyRows(batch: SampleBatch): CsvCell[][] {
  const rows: CsvCell[][] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const error = batch.error[i];
    rows[i] = [
      batch.workerId,
      batch.connection[i],
      batch.seq[i],
      batch.startUs[i].toFixed(1),
      error === 0 ? batch.rttUs[i].toFixed(3) : "",
      batch.bytes[i],
      ERROR_KINDS[error],
    ];
  }
  return rows;
}

/**
 * Columns of an open-loop `latency.csv`: the closed-loop columns, where
 * `start_us` is the actual send and `rtt_us` the corrected round trip
 * (reply − intended send), then:
 * - `intended_us`: when the schedule meant the message to leave, µs since the run started
 * - `rtt_uncorrected_us`: reply − actual send, µs (empty when the attempt failed)
 */
export const OPEN_LOOP_CSV_HEADER = [
  ...LATENCY_CSV_HEADER,
  "intended_us",
  "rtt_uncorrected_us",
] as const;

/** Rows of one open-loop batch, in the order of {@linkcode OPEN_LOOP_CSV_HEADER}. */
export function openLoopRows(batch: OpenLoopSampleBatch): CsvCell[][] {
  const rows = latencyRows(batch);
  for (let i = 0; i < batch.length; i++) {
    const intended = batch.intendedUs[i];
    rows[i].push(
      Number.isNaN(intended) ? "" : intended.toFixed(1),
      batch.error[i] === 0 ? batch.rttUncorrectedUs[i].toFixed(3) : "",
    );
  }
  return rows;
}
