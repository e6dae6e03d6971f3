/**
 * Options of `netspeed throughput --udp`, iperf3's UDP mode against an
 * echo: datagrams of a fixed length leave at a fixed bitrate and come back
 * through the UDP echo. Plain data and pure functions.
 *
 * @module
 */
import type { FleetOptions } from "../results/run_result.ts";
import { UsageError } from "../errors.ts";

/** What `netspeed throughput --udp` measures and where it writes. */
export interface UdpThroughputOptions extends FleetOptions {
  /** Host name or address of the UDP echo. */
  host: string;
  /** Port of the UDP echo (serve --udp: the echo port's number). @default {7007} */
  port: number;
  /** Bits per second sent, payload only, over all sockets. @default {1000000} */
  bitsPerSec: number;
  /** Payload bytes per datagram. @default {1460} */
  lengthBytes: number;
  /** Sockets the bitrate is spread over. @default {1} */
  sockets: number;
  /** Sending time. @default {10000} */
  durationMs: number;
  /** Length of each reported interval. @default {1000} */
  intervalMs: number;
  /** How long an echo may take before its datagram counts as lost. @default {1000} */
  timeoutMs: number;
  /** One row per interval, written during the run. */
  csvPath?: string;
  /** Summary with options and versions. */
  jsonPath?: string;
  /** Draw a progress line: "auto" does so when stderr is a terminal. @default {"auto"} */
  progress: "auto" | "never";
}

/** Defaults of `netspeed throughput --udp`: iperf3's 1 Mbit/s, a datagram that fits Ethernet. */
export const DEFAULT_UDP_THROUGHPUT_OPTIONS = Object.freeze(
  {
    port: 7007,
    bitsPerSec: 1_000_000,
    lengthBytes: 1460,
    sockets: 1,
    durationMs: 10_000,
    intervalMs: 1000,
    timeoutMs: 1000,
    progress: "auto",
  } as const,
);

const BIT_PREFIXES: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * Parses a bitrate as iperf3 writes them: `100M`, `1.5G`, `500k`, `2000`
 * (bits per second; prefixes are powers of 1000), with an optional
 * `bit/s`, `bps` or `/s`.
 *
 * @example
 * ```ts
 * parseBitsPerSec("100M", "--bitrate"); // 100000000
 * ```
 */
export function parseBitsPerSec(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)\s*(?:bit\/s|bits\/s|bps|b\/s|\/s|b)?\s*$/i.exec(
    text,
  );
  if (!match) {
    throw new UsageError(
      `Invalid ${flag} "${text}": expected a bitrate such as 100M, 1.5G or 500k`,
    );
  }
  const bits = Number(match[1]) * BIT_PREFIXES[match[2].toLowerCase()];
  if (!(bits > 0)) throw new UsageError(`Invalid ${flag} "${text}": must be more than zero`);
  return bits;
}

/** Datagrams per second that carry `bitsPerSec` in datagrams of `lengthBytes`. */
export function datagramsPerSec(o: Pick<UdpThroughputOptions, "bitsPerSec" | "lengthBytes">) {
  return o.bitsPerSec / (8 * o.lengthBytes);
}
