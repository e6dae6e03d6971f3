/**
 * Options of a latency run and how its work is split over workers and
 * connections: plain data and pure functions.
 *
 * @module
 */
import type { FleetOptions } from "../results/run_result.ts";
import type { HlogOptions } from "../hlog/options.ts";
import type { HostPort } from "../units.ts";
import type { LatencyJob } from "../worker_protocol.ts";
import type { EngineName } from "../engine/socket_engine.ts";

/**
 * How messages are paced: "closed-loop" sends the next round trip when the
 * last one is back; "open-loop" sends on a fixed schedule (`ratePerSec`),
 * whatever the replies do.
 */
export type LatencyMode = "closed-loop" | "open-loop";

/** What `netspeed latency` measures and where it writes. */
export interface LatencyOptions extends FleetOptions {
  target: HostPort;
  /** Absent means closed loop. @default {"closed-loop"} */
  mode?: LatencyMode;
  /** Messages per second over all connections; open loop only. */
  ratePerSec?: number;
  /** "udp" sends datagrams to a UDP echo, always open loop. @default {"tcp"} */
  transport?: "tcp" | "udp";
  /** Web Workers, each on its own thread. @default {1} */
  workers: number;
  /** Connections per worker. @default {1} */
  connections: number;
  /** Measured round trips per connection; exclusive with `durationMs`. @default {1000} */
  count?: number;
  /** Length of the measured phase; exclusive with `count`. */
  durationMs?: number;
  /** Payload bytes per round trip. @default {1024} */
  sizeBytes: number;
  /** Unrecorded round trips per connection before measuring. @default {10} */
  warmup: number;
  /** Bound on connect and each round trip. @default {5000} */
  timeoutMs: number;
  /** Compare each echo with what was sent. @default {true} */
  verify: boolean;
  /** One row per attempt, written during the run. */
  csvPath?: string;
  /** Summary with options and versions. */
  jsonPath?: string;
  /** HdrHistogram interval log (`--hlog`), written during the run. */
  hlog?: HlogOptions;
  /**
   * Interactive HTML report built from the CSV after the run; without
   * `csvPath` the CSV is written beside it (`run.html` → `run.csv`).
   */
  reportPath?: string;
  /** Draw a progress bar: "auto" does so when stderr is a terminal. @default {"auto"} */
  progress: "auto" | "never";
  /**
   * How Workers drive their sockets: "deno" (portable), "ffi" (libc
   * through FFI, Linux) or "busy-poll" (FFI, reading in a spin: a full
   * core per Worker). @default {"deno"}
   */
  engine?: EngineName;
  /**
   * Measure this engine's own round trip against an in-process echo first
   * and print it beside the result. @default {false}
   */
  calibrate?: boolean;
  /**
   * With the FFI engine (UDP, or TCP ping-pong): end each round trip at the
   * kernel's receive timestamp of the echo (SO_TIMESTAMPNS) instead of
   * when the client read it. @default {false}
   */
  kernelTimestamps?: boolean;
}

/** Defaults of `netspeed latency`. */
export const DEFAULT_LATENCY_OPTIONS = Object.freeze(
  {
    workers: 1,
    connections: 1,
    count: 1000,
    sizeBytes: 1024,
    warmup: 10,
    timeoutMs: 5000,
    verify: true,
    progress: "auto",
  } as const,
);

/** Round trips the run plans, or `undefined` when it is bounded by time. */
export function plannedRoundTrips(options: LatencyOptions): number | undefined {
  return options.count === undefined
    ? undefined
    : options.workers * options.connections * options.count;
}

/**
 * Splits the run into one job per worker: worker w drives connections
 * w·C … w·C + C − 1, so connection ids are unique across the run.
 */
export function planWorkers(
  options: LatencyOptions,
  runStartEpochMs: number,
  /** The target's address resolved once, for engines that want one. */
  address?: string,
): LatencyJob[] {
  return Array.from({ length: options.workers }, (_, workerId) => ({
    workerId,
    connectionIds: Array.from(
      { length: options.connections },
      (_, i) => workerId * options.connections + i,
    ),
    host: address ?? options.target.host,
    port: options.target.port,
    sizeBytes: options.sizeBytes,
    count: options.count,
    durationMs: options.durationMs,
    warmup: options.warmup,
    timeoutMs: options.timeoutMs,
    verify: options.verify,
    runStartEpochMs,
    engine: options.engine ?? "deno",
    kernelTimestamps: options.kernelTimestamps === true,
  }));
}
