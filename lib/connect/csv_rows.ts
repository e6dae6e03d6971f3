/**
 * The connect CSV: one row per attempt. Pure functions from attempt
 * batches to rows, so the format is tested without sockets.
 *
 * @module
 */
import type { CsvCell } from "../csv_writer.ts";
import { type ConnectBatch, ERROR_KINDS } from "../worker_protocol.ts";

/**
 * Columns of `connect.csv`, units in the names:
 * - `worker`, `seq` (attempt number in that worker, from 0)
 * - `start_us`: start of the attempt, µs since the run started, one clock for all workers
 * - `connect_us`: connect() until established, plus the TLS handshake with
 *   `--tls`, in µs (empty when the attempt failed)
 * - `error`: empty on success, else refused | reset | timeout | closed | unreachable | other
 */
export const CONNECT_CSV_HEADER = ["worker", "seq", "start_us", "connect_us", "error"] as const;

/** Rows of one batch, in the order of {@linkcode CONNECT_CSV_HEADER}. */
export function connectRows(batch: ConnectBatch): CsvCell[][] {
  const rows: CsvCell[][] = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const error = batch.error[i];
    rows[i] = [
      batch.workerId,
      batch.seq[i],
      batch.startUs[i].toFixed(1),
      error === 0 ? batch.connectUs[i].toFixed(3) : "",
      ERROR_KINDS[error],
    ];
  }
  return rows;
}
