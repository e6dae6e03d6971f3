/**
 * Options of `netspeed responsiveness`: round trips on idle connections,
 * then again while throughput streams load the path both ways. Plain data.
 *
 * @module
 */
import type { FleetOptions } from "../results/run_result.ts";
import type { HlogOptions } from "../hlog/options.ts";

/** The services a responsiveness run talks to, and their ports. */
export interface ResponsivenessPorts {
  /** Echo: the probes. @default {7007} */
  echo: number;
  /** Discard: the upload streams. @default {7009} */
  discard: number;
  /** Chargen: the download streams. @default {7019} */
  chargen: number;
}

/** What `netspeed responsiveness` measures and where it writes. */
export interface ResponsivenessOptions extends FleetOptions {
  /** Host name or address, without a port. */
  host: string;
  ports: ResponsivenessPorts;
  /** Probing before any load. @default {3000} */
  idleMs: number;
  /** Probing while the load runs (the load runs exactly this long). @default {8000} */
  loadedMs: number;
  /** Load streams per direction: this many up to discard and as many down from chargen. @default {4} */
  streams: number;
  /** Bytes per write and per read of the load streams. @default {131072} */
  blockBytes: number;
  /** A foreign probe and a self probe are started every this often. @default {20} */
  probeIntervalMs: number;
  /** Long-lived echo connections the self probes take turns on. @default {2} */
  selfConnections: number;
  /** Bound on each connect and each probe. @default {5000} */
  timeoutMs: number;
  /** One row per probe, written during the run. */
  csvPath?: string;
  /** Summary with options and versions. */
  jsonPath?: string;
  /** HdrHistogram interval log (`--hlog`), written during the run. */
  hlog?: HlogOptions;
  /** Draw a progress line: "auto" does so when stderr is a terminal. @default {"auto"} */
  progress: "auto" | "never";
}

/**
 * Defaults of `netspeed responsiveness`: 100 probes a second in all, half
 * foreign and half self, as the draft's MPS suggests; 4 streams each way,
 * as flent's RRUL test loads a link.
 */
export const DEFAULT_RESPONSIVENESS_OPTIONS = Object.freeze(
  {
    ports: Object.freeze({ echo: 7007, discard: 7009, chargen: 7019 }),
    idleMs: 3000,
    loadedMs: 8000,
    streams: 4,
    blockBytes: 128 * 1024,
    probeIntervalMs: 20,
    selfConnections: 2,
    timeoutMs: 5000,
    progress: "auto",
  } as const,
);

/** Bytes of each probe's echo: small, like the draft's 1-byte object. */
export const PROBE_BYTES = 32;
