/**
 * Columnar sample storage for an open-loop Worker: the closed-loop
 * columns plus the intended send time and the uncorrected RTT, in typed
 * arrays whose buffers are transferred to the main thread.
 *
 * @module
 */
import type { OpenLoopSampleBatch } from "../worker_protocol.ts";

/** One open-loop sample; times in µs since the run started. */
export interface OpenLoopSample {
  connection: number;
  seq: number;
  /** Actual send. */
  startUs: number;
  intendedUs: number;
  /** Reply − intended send; NaN when failed. */
  rttUs: number;
  /** Reply − actual send; NaN when failed. */
  rttUncorrectedUs: number;
  bytes: number;
  /** Index into ERROR_KINDS. */
  error: number;
}

/** Collects samples until full, then yields a transferable batch. */
export class OpenLoopSampleBuffer {
  #batch: OpenLoopSampleBatch;
  readonly capacity: number;
  readonly workerId: number;

  constructor(workerId: number, capacity = 4096) {
    this.workerId = workerId;
    this.capacity = capacity;
    this.#batch = this.#fresh();
  }

  #fresh(): OpenLoopSampleBatch {
    const n = this.capacity;
    return {
      workerId: this.workerId,
      length: 0,
      connection: new Uint32Array(n),
      seq: new Uint32Array(n),
      startUs: new Float64Array(n),
      rttUs: new Float64Array(n),
      bytes: new Uint32Array(n),
      error: new Uint8Array(n),
      intendedUs: new Float64Array(n),
      rttUncorrectedUs: new Float64Array(n),
    };
  }

  get length(): number {
    return this.#batch.length;
  }

  /** Adds one sample; returns true when the buffer is full and should be taken. */
  push(s: OpenLoopSample): boolean {
    const b = this.#batch;
    const i = b.length++;
    b.connection[i] = s.connection;
    b.seq[i] = s.seq;
    b.startUs[i] = s.startUs;
    b.intendedUs[i] = s.intendedUs;
    b.rttUs[i] = s.rttUs;
    b.rttUncorrectedUs[i] = s.rttUncorrectedUs;
    b.bytes[i] = s.bytes;
    b.error[i] = s.error;
    return b.length === this.capacity;
  }

  /** Hands over the filled batch and starts a new one. */
  take(): { batch: OpenLoopSampleBatch; transfer: ArrayBuffer[] } {
    const batch = this.#batch;
    this.#batch = this.#fresh();
    return {
      batch,
      transfer: [
        batch.connection.buffer,
        batch.seq.buffer,
        batch.startUs.buffer,
        batch.rttUs.buffer,
        batch.bytes.buffer,
        batch.error.buffer,
        batch.intendedUs.buffer,
        batch.rttUncorrectedUs.buffer,
      ] as ArrayBuffer[],
    };
  }
}
