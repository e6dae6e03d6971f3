/**
 * `responsiveness.csv`: one row per probe time, with the phase it belongs
 * to, so a report can plot latency over time and mark where the load
 * started and ended. Pure.
 *
 * @module
 */
import type { CsvCell } from "../csv_writer.ts";
import type { ProbeKind } from "./probes.ts";

/** Before the load, or while it ran. */
export type Phase = "idle" | "loaded";

/** A probe time placed on the run's timeline. */
export interface PhasedSample {
  phase: Phase;
  kind: ProbeKind;
  connection: number;
  seq: number;
  /** Start of the timed step, µs since the run started. */
  startUs: number;
  /** µs; NaN when it failed. */
  rttUs: number;
  error: string;
}

/**
 * Columns, units in the names:
 * - `phase`: `idle` (before the load) or `loaded` (while it ran)
 * - `probe`: `self` (echo round trip on a long-lived connection), `foreign_connect`
 *   (TCP handshake of a new connection), `foreign_echo` (first echo round trip on it)
 * - `connection`: self connection index, or the foreign probe's number
 * - `seq`: probe number within its kind
 * - `start_us`: start of the timed step, µs since the run started
 * - `rtt_us`: its duration, µs (empty when it failed)
 * - `error`: empty on success, else refused | reset | timeout | mismatch | closed | unreachable | other
 */
export const RESPONSIVENESS_CSV_HEADER = [
  "phase",
  "probe",
  "connection",
  "seq",
  "start_us",
  "rtt_us",
  "error",
] as const;

/** The row of one sample, in the order of {@linkcode RESPONSIVENESS_CSV_HEADER}. */
export function responsivenessRow(s: PhasedSample): CsvCell[] {
  return [
    s.phase,
    s.kind,
    s.connection,
    s.seq,
    s.startUs.toFixed(1),
    s.error === "" ? s.rttUs.toFixed(3) : "",
    s.error,
  ];
}
