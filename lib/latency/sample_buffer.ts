/**
 * The closed-loop latency Worker's sample columns.
 *
 * @module
 */
import { ColumnBuffer, type ColumnSpec, type Row } from "../column_buffer.ts";
import type { SampleBatch } from "../worker_protocol.ts";

/** One closed-loop sample; see {@linkcode SampleBatch} for units. */
export type Sample = Row<SampleBatch>;

/** The columns of {@linkcode SampleBatch}. */
export const SAMPLE_COLUMNS: ColumnSpec<SampleBatch> = {
  connection: Uint32Array,
  seq: Uint32Array,
  startUs: Float64Array,
  rttUs: Float64Array,
  bytes: Uint32Array,
  error: Uint8Array,
};

/** Collects closed-loop samples into transferable batches. */
export class SampleBuffer extends ColumnBuffer<SampleBatch> {
  constructor(workerId: number, capacity = 4096) {
    super(workerId, SAMPLE_COLUMNS, capacity);
  }
}
