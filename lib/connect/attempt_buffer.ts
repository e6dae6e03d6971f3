/**
 * Columnar storage of connection attempts in a Worker: fixed-size typed
 * arrays filled in place and handed to the main thread by transferring
 * their buffers.
 *
 * @module
 */
import type { ConnectBatch } from "../worker_protocol.ts";

/** Collects attempts until full, then yields a transferable batch. */
export class AttemptBuffer {
  #batch: ConnectBatch;
  readonly capacity: number;
  readonly workerId: number;

  constructor(workerId: number, capacity = 2048) {
    this.workerId = workerId;
    this.capacity = capacity;
    this.#batch = this.#fresh();
  }

  #fresh(): ConnectBatch {
    const n = this.capacity;
    return {
      workerId: this.workerId,
      length: 0,
      seq: new Uint32Array(n),
      startUs: new Float64Array(n),
      connectUs: new Float64Array(n),
      error: new Uint8Array(n),
    };
  }

  /** Attempts held. */
  get length(): number {
    return this.#batch.length;
  }

  /** Adds one attempt; returns true when the buffer is full and should be taken. */
  push(seq: number, startUs: number, connectUs: number, error: number): boolean {
    const b = this.#batch;
    const i = b.length++;
    b.seq[i] = seq;
    b.startUs[i] = startUs;
    b.connectUs[i] = connectUs;
    b.error[i] = error;
    return b.length === this.capacity;
  }

  /** Hands over the filled batch and starts a new one. */
  take(): { batch: ConnectBatch; transfer: ArrayBuffer[] } {
    const batch = this.#batch;
    this.#batch = this.#fresh();
    return {
      batch,
      transfer: [
        batch.seq.buffer,
        batch.startUs.buffer,
        batch.connectUs.buffer,
        batch.error.buffer,
      ] as ArrayBuffer[],
    };
  }
}
