/**
 * Columnar sample storage for a Worker: fixed-size typed arrays filled in
 * place and handed to the main thread by transferring their buffers.
 *
 * @module
 */
import type { SampleBatch } from "../worker_protocol.ts";

/** Collects samples until full, then yields a transferable batch. */
export class SampleBuffer {
  #batch: SampleBatch;
  readonly capacity: number;
  readonly workerId: number;

  constructor(workerId: number, capacity = 4096) {
    this.workerId = workerId;
    this.capacity = capacity;
    this.#batch = this.#fresh();
  }

  #fresh(): SampleBatch {
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
    };
  }

  get length(): number {
    return this.#batch.length;
  }

  /** Adds one sample; returns true when the buffer is full and should be taken. */
  push(
    connection: number,
    seq: number,
    startUs: number,
    rttUs: number,
    bytes: number,
    error: number,
  ): boolean {
    const b = this.#batch;
    const i = b.length++;
    b.connection[i] = connection;
    b.seq[i] = seq;
    b.startUs[i] = startUs;
    b.rttUs[i] = rttUs;
    b.bytes[i] = bytes;
    b.error[i] = error;
    return b.length === this.capacity;
  }

  /** Hands over the filled batch and starts a new one. */
  take(): { batch: SampleBatch; transfer: ArrayBuffer[] } {
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
      ] as ArrayBuffer[],
    };
  }
}
