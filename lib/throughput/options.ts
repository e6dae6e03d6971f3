/**
 * Options of a throughput run and how its streams are spread over
 * workers: plain data and pure functions.
 *
 * @module
 */
import type { FleetOptions } from "../results/run_result.ts";
import type { ThroughputJob, TransferDirection } from "../worker_protocol.ts";
import type { IntervalSchedule } from "./schedule.ts";

/** Which way the bytes go: `both` sends to echo and reads the echo back at once. */
export type ThroughputMode = "up" | "down" | "both";

/** The services a throughput run can talk to, and their ports. */
export interface ThroughputPorts {
  /** Echo (RFC 862), used by `both`. @default {7007} */
  echo: number;
  /** Discard (RFC 863), used by `up`. @default {7009} */
  discard: number;
  /** Character generator (RFC 864), used by `down`. @default {7019} */
  chargen: number;
}

/** What `netspeed throughput` measures and where it writes. */
export interface ThroughputOptions extends FleetOptions {
  /** Host name or address, without a port. */
  host: string;
  ports: ThroughputPorts;
  /** @default {"up"} */
  direction: ThroughputMode;
  /** Parallel TCP connections. @default {1} */
  streams: number;
  /** Web Workers the streams are spread over; `undefined` picks min(streams, 2). */
  workers?: number;
  /** Measured time, after the omitted part. @default {10000} */
  durationMs: number;
  /** Length of each reported interval. @default {1000} */
  intervalMs: number;
  /** Leading time reported but not counted in the totals. @default {0} */
  omitMs: number;
  /** Bytes per write and per read. @default {131072} */
  blockBytes: number;
  /** Bound on each connect. @default {5000} */
  timeoutMs: number;
  /** One row per stream, interval and direction, written during the run. */
  csvPath?: string;
  /** Summary with options and versions. */
  jsonPath?: string;
  /** Draw a progress line: "auto" does so when stderr is a terminal. @default {"auto"} */
  progress: "auto" | "never";
}

/** Defaults of `netspeed throughput`. */
export const DEFAULT_THROUGHPUT_OPTIONS = Object.freeze(
  {
    ports: Object.freeze({ echo: 7007, discard: 7009, chargen: 7019 }),
    direction: "up",
    streams: 1,
    durationMs: 10_000,
    intervalMs: 1000,
    omitMs: 0,
    // iperf3's default TCP block size.
    blockBytes: 128 * 1024,
    timeoutMs: 5000,
    progress: "auto",
  } as const,
);

/** Workers when `--workers` is not given: more threads than the 2 a busy host can spare rarely help. */
export const DEFAULT_MAX_WORKERS = 2;

/** Workers a run uses: never more than streams. */
export function workerCount(options: Pick<ThroughputOptions, "streams" | "workers">): number {
  return Math.min(options.streams, options.workers ?? DEFAULT_MAX_WORKERS);
}

/** The directions a mode measures, in report order. */
export function directionsOf(mode: ThroughputMode): TransferDirection[] {
  return mode === "both" ? ["up", "down"] : [mode];
}

/** The service a mode talks to. */
export function serviceOf(mode: ThroughputMode): keyof ThroughputPorts {
  return mode === "up" ? "discard" : mode === "down" ? "chargen" : "echo";
}

/** The timeline of the run. */
export function scheduleOf(options: ThroughputOptions): IntervalSchedule {
  return {
    omitMs: options.omitMs,
    intervalMs: options.intervalMs,
    durationMs: options.durationMs,
  };
}

/**
 * Splits the streams over workers round-robin: stream s goes to worker
 * s mod W, so with 4 streams on 2 workers each worker drives 2.
 */
export function planThroughputWorkers(options: ThroughputOptions): ThroughputJob[] {
  const workers = workerCount(options);
  return Array.from({ length: workers }, (_, workerId) => ({
    workerId,
    streamIds: Array.from({ length: options.streams }, (_, s) => s).filter((s) =>
      s % workers === workerId
    ),
    host: options.host,
    port: options.ports[serviceOf(options.direction)],
    mode: options.direction,
    blockBytes: options.blockBytes,
    timeoutMs: options.timeoutMs,
    schedule: scheduleOf(options),
  }));
}
