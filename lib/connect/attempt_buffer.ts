/**
 * The connect Worker's attempt columns.
 *
 * @module
 */
import { ColumnBuffer, type ColumnSpec } from "../column_buffer.ts";
import type { ConnectBatch } from "../worker_protocol.ts";

/** The columns of {@linkcode ConnectBatch}. */
export const ATTEMPT_COLUMNS: ColumnSpec<ConnectBatch> = {
  seq: Uint32Array,
  startUs: Float64Array,
  connectUs: Float64Array,
  error: Uint8Array,
};

/** Collects connection attempts into transferable batches. */
export class AttemptBuffer extends ColumnBuffer<ConnectBatch> {
  constructor(workerId: number, capacity = 2048) {
    super(workerId, ATTEMPT_COLUMNS, capacity);
  }
}
