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

  /**
   * {@linkcode push} without a row object or a loop over column names: a
   * closed loop adds one per round trip, and push took 120-170 ns of the
   * time between them here, this a few.
   */
  add(
    connection: number,
    seq: number,
    startUs: number,
    rttUs: number,
    bytes: number,
    error: number,
  ): boolean {
    const batch = this.filling;
    const i = batch.length++;
    batch.connection[i] = connection;
    batch.seq[i] = seq;
    batch.startUs[i] = startUs;
    batch.rttUs[i] = rttUs;
    batch.bytes[i] = bytes;
    batch.error[i] = error;
    return batch.length === this.capacity;
  }
}
