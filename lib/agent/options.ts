/**
 * Options of `netspeed agent`, with their defaults.
 *
 * @module
 */
import type { ProbeKind } from "./outcome.ts";
import { DEFAULT_SCHEDULE_OPTIONS } from "./schedule.ts";

/** Where the peer list comes from. */
export type PeerSourceOptions =
  | { kind: "file"; path: string }
  | { kind: "dns"; name: string; port: number };

/** Options of {@linkcode agent}. */
export interface AgentOptions {
  /** The `source` label and the name the agent skips in peer lists. @default {the host name} */
  nodeId: string;
  /** Address the echo services (TCP and UDP) bind. @default {"127.0.0.1"} */
  host: string;
  /** Port of the echo services, TCP and UDP; 0 picks a free one. @default {7007} */
  port: number;
  peers: PeerSourceOptions;
  /** Probe only this many peers, chosen by rendezvous hashing; all when absent. */
  peersSubset?: number;
  /** Probe kinds to run. @default {["tcp", "connect", "udp"]} */
  probes: ProbeKind[];
  /** Mean gap between probes of one kind to one peer, ms. @default {1000} */
  intervalMs: number;
  /** Gaps vary uniformly within ±this fraction. @default {0.2} */
  jitterFraction: number;
  /** Limit on each probe (and the age at which a UDP probe counts as lost), ms. @default {2000} */
  timeoutMs: number;
  /** Where `/metrics` listens. @default {{ host: "127.0.0.1", port: 9108 }} */
  metrics: { host: string; port: number };
  /** One HdrHistogram interval log per peer and probe here; none when absent. */
  hlogDir?: string;
  /** Interval of the hlogs, ms. @default {10000} */
  hlogIntervalMs: number;
  /** Bytes the hlog directory may hold; the oldest rotated files go first. @default {100 MiB} */
  hlogMaxBytes: number;
  /** Echo services: connections open at once. @default {1000} */
  maxConnections: number;
  /** Echo over UDP: datagrams answered per second over all senders. @default {20000} */
  udpRateLimitPerSec: number;
}

/** The defaults of `netspeed agent` (peers have none: one source must be given). */
export const DEFAULT_AGENT_OPTIONS: Readonly<Omit<AgentOptions, "nodeId" | "peers">> = Object
  .freeze({
    host: "127.0.0.1",
    port: 7007,
    probes: ["tcp", "connect", "udp"] as ProbeKind[],
    intervalMs: DEFAULT_SCHEDULE_OPTIONS.intervalMs,
    jitterFraction: DEFAULT_SCHEDULE_OPTIONS.jitterFraction,
    timeoutMs: 2000,
    metrics: Object.freeze({ host: "127.0.0.1", port: 9108 }),
    hlogIntervalMs: 10_000,
    hlogMaxBytes: 100 * 1024 * 1024,
    maxConnections: 1000,
    udpRateLimitPerSec: 20_000,
  });
