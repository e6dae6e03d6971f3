/**
 * Every message between the main thread and the measuring Workers, as one
 * discriminated union per direction. Samples travel in batches of typed
 * arrays whose buffers are transferred, never one message per round trip.
 *
 * @module
 */
import type {
  BoundService,
  ServiceTotals,
  TcpServiceName,
  TcpServicesOptions,
} from "./server/tcp_services.ts";

/** Why an attempt failed; "" means it succeeded. The index is the wire code. */
export const ERROR_KINDS = [
  "",
  "refused",
  "reset",
  "timeout",
  "mismatch",
  "closed",
  "unreachable",
  "other",
] as const;

/** A failure kind as written in CSV files and summaries. */
export type ErrorKind = Exclude<typeof ERROR_KINDS[number], "">;

/** Wire code of an error kind (0 for success). */
export function errorCode(kind: ErrorKind | ""): number {
  return ERROR_KINDS.indexOf(kind);
}

/** What one latency Worker is asked to do. */
export interface LatencyJob {
  workerId: number;
  /** Global ids of the connections this worker drives. */
  connectionIds: number[];
  host: string;
  port: number;
  sizeBytes: number;
  /** Measured round trips per connection; `undefined` when bounded by time. */
  count?: number;
  /** Length of the measured phase, when bounded by time. */
  durationMs?: number;
  /** Round trips per connection run before measuring and not recorded. */
  warmup: number;
  /** Bound on connect and on each round trip. */
  timeoutMs: number;
  /** Compare each echo with what was sent. */
  verify: boolean;
  /** Origin of `start_us`, on the clock shared by all threads. */
  runStartEpochMs: number;
}

/** Samples of one worker, column by column; `length` entries are valid. */
export interface SampleBatch {
  workerId: number;
  length: number;
  connection: Uint32Array;
  seq: Uint32Array;
  /** Start of the attempt, µs since the run started (shared clock). */
  startUs: Float64Array;
  /** Full round-trip time in µs; NaN for failed attempts. */
  rttUs: Float64Array;
  bytes: Uint32Array;
  /** Index into {@linkcode ERROR_KINDS}. */
  error: Uint8Array;
}

/** Main thread → Worker. */
export type ToLatencyWorker =
  | { type: "start"; job: LatencyJob }
  /** Every connection is ready: measure from now until `deadlineEpochMs` or the count. */
  | { type: "go"; deadlineEpochMs?: number }
  /** Stop early (Ctrl-C): finish the current round trip, flush, report. */
  | { type: "stop" };

/** Worker → main thread. */
export type FromLatencyWorker =
  /** Connected and warmed up (connections that failed are reported in a batch). */
  | { type: "ready"; workerId: number; liveConnections: number }
  | { type: "batch"; batch: SampleBatch }
  | {
    type: "done";
    workerId: number;
    /** Encoded HDR histogram of this worker's successful round trips (ns). */
    histogram: string;
  }
  | { type: "error"; workerId: number; message: string };

/** Main thread → server Worker. */
export type ToServerWorker =
  | { type: "start"; options: TcpServicesOptions }
  | { type: "stop" };

/** Server Worker → main thread. */
export type FromServerWorker =
  | { type: "listening"; bound: BoundService[] }
  | { type: "stopped"; totals: Record<TcpServiceName, ServiceTotals> | null }
  | { type: "error"; message: string };
