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
import type { UdpEchoOptions, UdpEchoTotals } from "./server/udp_echo.ts";
import type { IntervalSchedule } from "./throughput/schedule.ts";
import type { EngineName } from "./engine/socket_engine.ts";
import type { ConnectionLimits } from "./server/connection_slots.ts";

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
  /** How the Worker drives its sockets (the FFI engines want `host` as an IP address). */
  engine: EngineName;
  /** End each round trip at the kernel's receive time of its echo (FFI engines). */
  kernelTimestamps: boolean;
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
  /**
   * Every connection is ready: measure from `startEpochMs` (at once when
   * absent or past) until `deadlineEpochMs` or the count.
   */
  | { type: "go"; startEpochMs?: number; deadlineEpochMs?: number }
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
    /** With kernel timestamps: successful round trips that ended at the kernel's stamp. */
    kernelTimed?: number;
    /** When its measuring loops returned (shared clock); null when it had nothing to measure. */
    measuredUntilEpochMs: number | null;
  }
  | { type: "error"; workerId: number; message: string };

/** Main thread → server Worker. */
export type ToServerWorker =
  | {
    type: "start";
    options: TcpServicesOptions;
    /** The server-wide connection counts every thread shares (see `connection_slots.ts`). */
    slots: SharedArrayBuffer;
    /** Echo over UDP on this thread too; absent or null: not here. */
    udp?: UdpEchoOptions | null;
  }
  | { type: "totals" }
  | { type: "stop" };

/** Server Worker → main thread. */
export type FromServerWorker =
  | { type: "listening"; bound: BoundService[]; udp?: { host: string; port: number } | null }
  | {
    type: "totals";
    totals: Record<TcpServiceName, ServiceTotals>;
    udp: UdpEchoTotals | null;
    openConnections: number;
  }
  | {
    type: "stopped";
    totals: Record<TcpServiceName, ServiceTotals> | null;
    udp?: UdpEchoTotals | null;
  }
  | { type: "error"; message: string };

/** A direction of transfer as CSV files and summaries name it. */
export type TransferDirection = "up" | "down";

/** Wire code of a direction in {@linkcode IntervalBatch}: the index in this list. */
export const TRANSFER_DIRECTIONS = ["up", "down"] as const satisfies readonly TransferDirection[];

/** What one throughput Worker is asked to do. */
export interface ThroughputJob {
  workerId: number;
  /** Global ids of the streams (TCP connections) this worker drives. */
  streamIds: number[];
  host: string;
  /** Port of the service the mode talks to: discard (up), chargen (down) or echo (both). */
  port: number;
  /** `up` writes, `down` reads, `both` writes and reads the echo back on each stream. */
  mode: "up" | "down" | "both";
  /** Bytes per write and per read. */
  blockBytes: number;
  /** Bound on each connect. */
  timeoutMs: number;
  /** Where intervals start and end, from the common start. */
  schedule: IntervalSchedule;
}

/**
 * Bytes moved per stream, direction and interval, column by column;
 * `length` entries are valid. One batch per finished interval and worker.
 */
export interface IntervalBatch {
  workerId: number;
  length: number;
  stream: Uint32Array;
  /** Index into {@linkcode TRANSFER_DIRECTIONS}. */
  direction: Uint8Array;
  /** Index of the interval in the schedule. */
  interval: Uint32Array;
  /** End of the interval in ms since the common start; earlier than planned when stopped. */
  endMs: Float64Array;
  bytes: Float64Array;
}

/** A stream that failed, to connect or while moving data. */
export interface StreamFailure {
  stream: number;
  kind: ErrorKind;
  message: string;
  /** Ms since the common start when it failed; null when it failed before the start. */
  atMs: number | null;
}

/** Main thread → throughput Worker. */
export type ToThroughputWorker =
  | { type: "start"; job: ThroughputJob }
  /** Every stream is connected: the common start is `startEpochMs` on the shared clock. */
  | { type: "go"; startEpochMs: number }
  /** Stop early (Ctrl-C): close the interval in progress, flush, report. */
  | { type: "stop" };

/** Throughput Worker → main thread. */
export type FromThroughputWorker =
  | { type: "ready"; workerId: number; liveStreams: number; failures: StreamFailure[] }
  | { type: "intervals"; batch: IntervalBatch }
  | { type: "failure"; workerId: number; failure: StreamFailure }
  | { type: "done"; workerId: number }
  | { type: "error"; workerId: number; message: string };

/** What one connect Worker is asked to do. */
export interface ConnectJob {
  workerId: number;
  /** Address to connect to, resolved once by the main thread. */
  host: string;
  /** The name typed, which TLS verifies the certificate against. */
  serverName: string;
  port: number;
  /** Connections to open one after the other; `undefined` when bounded by time. */
  count?: number;
  /** Length of the run when bounded by time. */
  durationMs?: number;
  /** Bound on each connect (and TLS handshake). */
  timeoutMs: number;
  /** TLS: PEM roots to trust beyond the default ones; `null` for plain TCP. */
  tls: { caCerts: string[] } | null;
  /** Origin of `start_us`, on the clock shared by all threads. */
  runStartEpochMs: number;
  /** How the Worker opens its connections ("deno" for TLS). */
  engine: EngineName;
}

/** Connection attempts of one worker, column by column; `length` entries are valid. */
export interface ConnectBatch {
  workerId: number;
  length: number;
  seq: Uint32Array;
  /** Start of the attempt, µs since the run started (shared clock). */
  startUs: Float64Array;
  /** connect() until established (plus the TLS handshake), µs; NaN when it failed. */
  connectUs: Float64Array;
  /** Index into {@linkcode ERROR_KINDS}. */
  error: Uint8Array;
}

/** Main thread → connect Worker. */
export type ToConnectWorker =
  | { type: "start"; job: ConnectJob }
  | { type: "go"; startEpochMs?: number; deadlineEpochMs?: number }
  | { type: "stop" };

/** Connect Worker → main thread. */
export type FromConnectWorker =
  | { type: "ready"; workerId: number }
  | { type: "batch"; batch: ConnectBatch }
  /** Stopped before its count or time: failures in a row made further attempts pointless. */
  | { type: "gaveUp"; workerId: number; consecutiveFailures: number }
  | {
    type: "done";
    workerId: number;
    /** Encoded HDR histogram of this worker's successful set-up times (ns). */
    histogram: string;
    /** The first failure's message, so a run where all fail can say why. */
    firstError: string | null;
    /** When its last attempt ended (shared clock); null when it made none. */
    measuredUntilEpochMs: number | null;
  }
  | { type: "error"; workerId: number; message: string };

/** What one open-loop Worker is asked to do (TCP or UDP). */
export interface OpenLoopJob {
  workerId: number;
  /** Global ids of the connections (UDP: sockets) this worker drives; also their schedule slot. */
  connectionIds: number[];
  /** Messages each of those connections sends, in the same order. */
  counts: number[];
  /** Connections over all workers: the N of the schedule. */
  totalConnections: number;
  /** Messages per second over all connections. */
  ratePerSec: number;
  /** Past this many ms after the common start nothing more is sent. */
  sendCutoffMs: number;
  transport: "tcp" | "udp";
  host: string;
  port: number;
  sizeBytes: number;
  /** TCP: closed-loop round trips per connection before the start, not recorded. */
  warmup: number;
  /** Bound on connect and on each message's wait for its reply. */
  timeoutMs: number;
  /** Compare each reply with what was sent. */
  verify: boolean;
  /** Origin of `start_us` and `intended_us`, on the clock shared by all threads. */
  runStartEpochMs: number;
  /** TCP: "deno" or "ffi" (the FFI engine's reactor sleeps between sends instead of spinning). */
  engine: EngineName;
  /** UDP with the FFI engine: replies timed by the kernel's receive timestamp. */
  kernelTimestamps?: boolean;
}

/**
 * Samples of an open-loop worker: the closed-loop columns, where `rttUs` is
 * the corrected figure (from the intended send time) and `startUs` the
 * actual send, plus the intended send time and the uncorrected RTT.
 */
export interface OpenLoopSampleBatch extends SampleBatch {
  /** Intended send time, µs since the run started. */
  intendedUs: Float64Array;
  /** Reply time minus actual send time, µs; NaN for failed attempts. */
  rttUncorrectedUs: Float64Array;
}

/** What a UDP socket saw, for loss, duplicates, reordering and jitter. */
export interface UdpSocketCounts {
  connection: number;
  /** Datagrams sent. */
  sent: number;
  /** Distinct datagrams echoed back in time. */
  received: number;
  /** Echoes of a datagram already echoed. */
  duplicates: number;
  /** Echoes that arrived after the echo of a later-sent datagram. */
  reordered: number;
  /** Echoes that arrived after the time limit (counted as lost). */
  late: number;
  /** Echoes whose bytes differ from what was sent (ignored, so counted as lost). */
  mismatched: number;
  /** RFC 3550 interarrival jitter of the round trips at the end, µs. */
  jitterUs: number;
  /**
   * With --kernel-timestamps: echoes (of `received`) whose arrival time came
   * from the kernel; the rest were timed by the client's clock when read.
   */
  kernelTimed?: number;
}

/** Main thread → open-loop Worker. */
export type ToOpenLoopWorker =
  | { type: "start"; job: OpenLoopJob }
  /** Every connection is ready: the schedule starts at `startEpochMs` on the shared clock. */
  | { type: "go"; startEpochMs: number }
  /** Stop early (Ctrl-C): send nothing more, flush, report. */
  | { type: "stop" };

/** Open-loop Worker → main thread. */
export type FromOpenLoopWorker =
  | { type: "ready"; workerId: number; liveConnections: number }
  | { type: "batch"; batch: OpenLoopSampleBatch }
  | {
    type: "done";
    workerId: number;
    /** Encoded HDR histogram of the corrected round trips (ns). */
    histogram: string;
    /** Encoded HDR histogram of the uncorrected round trips (ns). */
    histogramUncorrected: string;
    /** Messages sent. */
    sent: number;
    /** Messages planned but never sent (cut off, stopped, or their connection failed). */
    unsent: number;
    /** When the last message left, ms after the common start; null when none did. */
    lastSendMs: number | null;
    /**
     * When the last message left or the last reply came (shared clock);
     * null when neither happened. Waiting out lost replies and closing
     * afterwards measure nothing, so the run's window ends here.
     */
    measuredUntilEpochMs: number | null;
    /** UDP only: per-socket counts. */
    udp: UdpSocketCounts[] | null;
    /**
     * Encoded HDR histogram of how late each message left after its
     * intended time (ns): the pacer's error, part of the result's validity.
     */
    sendLateness?: string;
  }
  | { type: "error"; workerId: number; message: string };

/** Main thread → a connection's Worker of `serve --busy-poll`. */
export interface ToBusyPollWorker {
  type: "start";
  /** The accepted connection's descriptor (descriptors are the process's, not the thread's). */
  fd: number;
  /** Element 0 turns 1 when the server stops. */
  stop: Int32Array;
  /** Bytes read at most per call. */
  bufferBytes: number;
}

/** Main thread → a thread of `serve --engine ffi`, once. */
export interface ToEpollWorker {
  type: "start";
  /** The listener every thread accepts from (non-blocking; descriptors are the process's). */
  listenerFd: number;
  /** Element 0 turns 1 when the server stops. */
  stop: Int32Array;
  /** The server-wide connection counts (see `connection_slots.ts`). */
  slots: SharedArrayBuffer;
  limits: ConnectionLimits;
  /** A connection with no progress for this long is closed; 0 never. */
  idleTimeoutMs: number;
  /** Bytes read at most per call, and kept at most for a peer that does not read. */
  bufferBytes: number;
}

/** A thread of `serve --engine ffi` → main thread, once, when it stopped. */
export interface FromEpollWorker {
  type: "stopped";
  totals: ServiceTotals;
}

/** A connection's Worker of `serve --busy-poll` → main thread, once, when it closed. */
export interface FromBusyPollWorker {
  type: "closed";
  bytesEchoed: number;
}
