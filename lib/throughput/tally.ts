/**
 * What the main thread keeps of a throughput run while batches arrive:
 * bytes per stream and direction, and per interval across streams. Pure
 * state: batches in, plain data out, no sockets or files.
 *
 * @module
 */
import {
  type IntervalBatch,
  type StreamFailure,
  TRANSFER_DIRECTIONS,
  type TransferDirection,
} from "../worker_protocol.ts";
import { bitsPerSec } from "./csv_rows.ts";
import { intervalBounds, type IntervalSchedule } from "./schedule.ts";

/** Bytes one stream moved in one direction. */
export interface StreamTally {
  stream: number;
  worker: number;
  direction: TransferDirection;
  /** Bytes in measured (not omitted) intervals. */
  bytes: number;
  /** Bytes in omitted intervals. */
  omittedBytes: number;
  /** Measured intervals in which it moved nothing. */
  emptyIntervals: number;
}

/** One interval in one direction, across streams. */
export interface IntervalDirectionTally {
  bytes: number;
  /** Each stream's rate in this interval, by stream id. */
  streamBitsPerSec: Map<number, number>;
}

/** One interval across streams. */
export interface IntervalTally {
  index: number;
  startMs: number;
  /** Latest end any worker reported (ends differ only when stopped early). */
  endMs: number;
  omitted: boolean;
  directions: Map<TransferDirection, IntervalDirectionTally>;
}

/** A failed stream and the worker that drove it. */
export interface WorkerStreamFailure extends StreamFailure {
  worker: number;
}

/** Accumulates the batches of a run. */
export class ThroughputTally {
  readonly schedule: IntervalSchedule;
  readonly failures: WorkerStreamFailure[] = [];
  #streams = new Map<string, StreamTally>();
  #intervals = new Map<number, IntervalTally>();
  #measuredBytes = 0;
  #lastIndex = -1;

  constructor(schedule: IntervalSchedule) {
    this.schedule = schedule;
  }

  /** Adds one batch of interval rows. */
  add(batch: IntervalBatch): void {
    for (let i = 0; i < batch.length; i++) {
      const stream = batch.stream[i];
      const direction = TRANSFER_DIRECTIONS[batch.direction[i]];
      const bytes = batch.bytes[i];
      const bounds = intervalBounds(this.schedule, batch.interval[i]);
      const endMs = batch.endMs[i];

      const key = `${stream}/${direction}`;
      let s = this.#streams.get(key);
      if (!s) {
        s = {
          stream,
          worker: batch.workerId,
          direction,
          bytes: 0,
          omittedBytes: 0,
          emptyIntervals: 0,
        };
        this.#streams.set(key, s);
      }
      if (bounds.omitted) {
        s.omittedBytes += bytes;
      } else {
        s.bytes += bytes;
        this.#measuredBytes += bytes;
        if (bytes === 0) s.emptyIntervals++;
      }

      let interval = this.#intervals.get(bounds.index);
      if (!interval) {
        interval = {
          index: bounds.index,
          startMs: bounds.startMs,
          endMs,
          omitted: bounds.omitted,
          directions: new Map(),
        };
        this.#intervals.set(bounds.index, interval);
      }
      interval.endMs = Math.max(interval.endMs, endMs);
      let d = interval.directions.get(direction);
      if (!d) {
        d = { bytes: 0, streamBitsPerSec: new Map() };
        interval.directions.set(direction, d);
      }
      d.bytes += bytes;
      d.streamBitsPerSec.set(stream, bitsPerSec(bytes, (endMs - bounds.startMs) / 1000));
      this.#lastIndex = Math.max(this.#lastIndex, bounds.index);
    }
  }

  /** Records a stream that failed. */
  addFailure(worker: number, failure: StreamFailure): void {
    this.failures.push({ ...failure, worker });
  }

  /** Every stream and direction that reported, by stream then direction. */
  streams(): StreamTally[] {
    return [...this.#streams.values()].sort((a, b) =>
      a.stream - b.stream ||
      TRANSFER_DIRECTIONS.indexOf(a.direction) - TRANSFER_DIRECTIONS.indexOf(b.direction)
    );
  }

  /** Every interval that reported, in time order. */
  intervals(): IntervalTally[] {
    return [...this.#intervals.values()].sort((a, b) => a.index - b.index);
  }

  /** Bytes in measured intervals so far, all streams and directions. */
  get measuredBytes(): number {
    return this.#measuredBytes;
  }

  /**
   * The latest interval every worker has most likely finished: the one
   * before the newest reported, since workers report each boundary within
   * moments of each other.
   */
  latestFinished(): IntervalTally | undefined {
    return this.#intervals.get(this.#lastIndex - 1);
  }

  /** End of the measured time so far, ms from the common start. */
  get endMs(): number {
    let end = 0;
    for (const interval of this.#intervals.values()) end = Math.max(end, interval.endMs);
    return end;
  }
}
