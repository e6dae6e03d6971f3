/**
 * Columnar storage for a Worker's samples: fixed-size typed arrays filled
 * in place and handed to the main thread by transferring their buffers,
 * so a batch crosses threads without a copy and never as one message per
 * sample. Each measurement names its columns once; this class does the rest.
 *
 * @module
 */

/** The typed arrays a column may be. */
export type TypedColumn = Uint8Array | Uint32Array | Float64Array;

/** The keys of a batch that are columns. */
export type ColumnName<B> = { [K in keyof B]: B[K] extends TypedColumn ? K : never }[keyof B];

/** One sample: a number per column. */
export type Row<B> = { [K in ColumnName<B>]: number };

/** How to make each column of a batch, given its capacity. */
export type ColumnSpec<B> = { [K in ColumnName<B>]: new (capacity: number) => B[K] };

/** A batch: its columns, the worker that filled it and how many rows are valid. */
export interface BatchBase {
  workerId: number;
  length: number;
}

/** Collects rows until full, then yields a transferable batch. */
export class ColumnBuffer<B extends BatchBase> {
  readonly workerId: number;
  readonly capacity: number;
  #spec: ColumnSpec<B>;
  #names: ColumnName<B>[];
  #batch: B;

  constructor(workerId: number, spec: ColumnSpec<B>, capacity = 4096) {
    this.workerId = workerId;
    this.capacity = capacity;
    this.#spec = spec;
    this.#names = Object.keys(spec) as ColumnName<B>[];
    this.#batch = this.#fresh();
  }

  #fresh(): B {
    const batch: Record<string, unknown> = { workerId: this.workerId, length: 0 };
    for (const name of this.#names) batch[name as string] = new this.#spec[name](this.capacity);
    return batch as unknown as B;
  }

  /** The batch being filled, for a subclass that writes its columns directly. */
  protected get filling(): B {
    return this.#batch;
  }

  /** Rows held. */
  get length(): number {
    return this.#batch.length;
  }

  /** Adds one row; returns true when the buffer is full and should be taken. */
  push(row: Row<B>): boolean {
    const batch = this.#batch;
    const i = batch.length++;
    for (const name of this.#names) (batch[name] as TypedColumn)[i] = row[name];
    return batch.length === this.capacity;
  }

  /** Hands over the filled batch and starts a new one. */
  take(): { batch: B; transfer: ArrayBuffer[] } {
    const batch = this.#batch;
    this.#batch = this.#fresh();
    const transfer = this.#names.map((name) => (batch[name] as TypedColumn).buffer as ArrayBuffer);
    return { batch, transfer };
  }
}

/**
 * Hands a Worker's rows to `send` a batch at a time; returns the flush to
 * call when rows are due (a no-op when there are none).
 *
 * An empty batch is sent at once, before anything runs hot. A Worker's
 * first messages, and its first with transferred typed arrays, make V8
 * discard the code it has optimized so far (`--trace-deopt`: "dependent
 * prototype chain changed"). Sent first by a closed loop's first flush,
 * 200 ms into the run, they had the loop recompiled while it was timed
 * (a compiler thread for 17-24 ms, on a core the round trips need): its
 * first quarter second held 31-41 ms more round-trip time than the others;
 * with this batch first, 14-15 ms.
 */
export function batchSender<B extends BatchBase>(
  buffer: ColumnBuffer<B>,
  send: (batch: B, transfer: ArrayBuffer[]) => void,
): () => void {
  const sendTaken = () => {
    const { batch, transfer } = buffer.take();
    send(batch, transfer);
  };
  sendTaken();
  return () => {
    if (buffer.length > 0) sendTaken();
  };
}
