/**
 * The open-loop Worker's sample columns: the closed-loop ones plus the
 * intended send time and the uncorrected RTT.
 *
 * @module
 */
import { ColumnBuffer, type ColumnSpec, type Row } from "../column_buffer.ts";
import type { OpenLoopSampleBatch } from "../worker_protocol.ts";
import { SAMPLE_COLUMNS } from "./sample_buffer.ts";

/**
 * One open-loop sample; times in µs since the run started: `startUs` the
 * actual send, `rttUs` reply − intended send, `rttUncorrectedUs` reply −
 * actual send (NaN when failed).
 */
export type OpenLoopSample = Row<OpenLoopSampleBatch>;

/** The columns of {@linkcode OpenLoopSampleBatch}. */
export const OPEN_LOOP_COLUMNS: ColumnSpec<OpenLoopSampleBatch> = {
  ...SAMPLE_COLUMNS,
  intendedUs: Float64Array,
  rttUncorrectedUs: Float64Array,
};

/** Collects open-loop samples into transferable batches. */
export class OpenLoopSampleBuffer extends ColumnBuffer<OpenLoopSampleBatch> {
  constructor(workerId: number, capacity = 4096) {
    super(workerId, OPEN_LOOP_COLUMNS, capacity);
  }
}
