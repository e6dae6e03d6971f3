/**
 * Options of a connection set-up run and how it is split over workers:
 * plain data and pure functions.
 *
 * @module
 */
import type { FleetOptions } from "../results/run_result.ts";
import type { HlogOptions } from "../hlog/options.ts";
import type { HostPort } from "../units.ts";
import type { ConnectJob } from "../worker_protocol.ts";

/** What `netspeed connect` measures and where it writes. */
export interface ConnectOptions extends FleetOptions {
  target: HostPort;
  /** Web Workers, each opening one connection at a time. @default {1} */
  workers: number;
  /** Connections per worker; exclusive with `durationMs`. @default {1000} */
  count?: number;
  /** Length of the run; exclusive with `count`. */
  durationMs?: number;
  /** Bound on each connect (and TLS handshake). @default {5000} */
  timeoutMs: number;
  /** Measure the TLS handshake too (the target runs `serve --tls-cert --tls-key`). @default {false} */
  tls: boolean;
  /** PEM file of a certificate (or its CA) to trust beyond the default roots, with `tls`. */
  caFile?: string;
  /** One row per attempt, written during the run. */
  csvPath?: string;
  /** Summary with options and versions. */
  jsonPath?: string;
  /** HdrHistogram interval log (`--hlog`), written during the run. */
  hlog?: HlogOptions;
  /** Draw a progress bar: "auto" does so when stderr is a terminal. @default {"auto"} */
  progress: "auto" | "never";
}

/** Defaults of `netspeed connect`. */
export const DEFAULT_CONNECT_OPTIONS = Object.freeze(
  {
    workers: 1,
    count: 1000,
    timeoutMs: 5000,
    tls: false,
    progress: "auto",
  } as const,
);

/** A worker that has had no success gives up after this many failures in a row: the target is down. */
export const GIVE_UP_BEFORE_SUCCESS = 3;
/** After a success, a worker gives up after this many failures in a row, so a vanished server cannot hold a run for count × timeout. */
export const GIVE_UP_AFTER_SUCCESS = 100;

/** Attempts the run plans, or `undefined` when it is bounded by time. */
export function plannedAttempts(options: ConnectOptions): number | undefined {
  return options.count === undefined ? undefined : options.workers * options.count;
}

/**
 * One job per worker. `address` is the target's address resolved once,
 * so no attempt pays for a name lookup; TLS still verifies the name typed.
 */
export function planConnectWorkers(
  options: ConnectOptions,
  address: string,
  caCerts: string[],
  runStartEpochMs: number,
): ConnectJob[] {
  return Array.from({ length: options.workers }, (_, workerId) => ({
    workerId,
    host: address,
    serverName: options.target.host,
    port: options.target.port,
    count: options.count,
    durationMs: options.durationMs,
    timeoutMs: options.timeoutMs,
    tls: options.tls ? { caCerts } : null,
    runStartEpochMs,
  }));
}
