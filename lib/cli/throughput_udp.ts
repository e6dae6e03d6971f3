/**
 * Flags of `netspeed throughput --udp`, turned into
 * {@linkcode UdpThroughputOptions}. The UDP mode shares the throughput
 * command's flags where they mean the same thing (`--duration`,
 * `--interval`, `--streams`, `--echo-port`, `-l` as iperf3's datagram
 * length) and refuses the ones that have no meaning over UDP.
 *
 * @module
 */
import { type FleetFlags, parseFleetFlags } from "./fleet_flags.ts";
import { UsageError } from "../errors.ts";
import { parseDurationMs, parseInteger, parsePort, parseSizeBytes } from "../units.ts";
import {
  DEFAULT_UDP_THROUGHPUT_OPTIONS,
  parseBitsPerSec,
  type UdpThroughputOptions,
} from "../udp/throughput_options.ts";
import { FRAME_HEADER_BYTES } from "../latency/frame.ts";

/** The raw flags the UDP mode reads (a subset of the throughput command's). */
export interface UdpThroughputFlags extends FleetFlags {
  udp?: boolean;
  bitrate?: string;
  streams: string;
  duration: string;
  interval: string;
  blockSize: string;
  echoPort: string;
  timeout: string;
  csv?: string;
  progress: boolean;
}

/** Flags of the TCP modes that mean nothing over UDP, by commander's attribute name. */
const TCP_ONLY_FLAGS: Record<string, string> = {
  direction: "--direction",
  workers: "--workers",
  omit: "--omit",
  discardPort: "--discard-port",
  chargenPort: "--chargen-port",
};

/** Largest UDP payload over IPv4. */
const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** Whether the flags ask for the UDP mode. */
export function wantsUdp(flags: { udp?: boolean; bitrate?: string }): boolean {
  return flags.udp === true || flags.bitrate !== undefined;
}

/**
 * Pure: validates the target and flags of a UDP run. `given` names the
 * flags typed on the command line (commander's attribute names), so
 * defaults meant for TCP (a 128 KiB block, a 5 s connect limit) do not
 * leak into the UDP mode.
 */
export function parseUdpThroughputFlags(
  target: string,
  flags: UdpThroughputFlags,
  given: ReadonlySet<string>,
): UdpThroughputOptions {
  const d = DEFAULT_UDP_THROUGHPUT_OPTIONS;
  if (!flags.udp) {
    throw new UsageError(
      `Option --bitrate "${flags.bitrate}" needs --udp (TCP runs as fast as the path allows)`,
    );
  }
  for (const [name, flag] of Object.entries(TCP_ONLY_FLAGS)) {
    if (given.has(name)) throw new UsageError(`Option ${flag} does not apply to --udp`);
  }
  const host = target.trim().replace(/^\[(.*)\]$/, "$1");
  if (host === "" || (!target.includes("[") && host.split(":").length === 2)) {
    throw new UsageError(
      `Invalid host "${target}": give the host alone; set the UDP echo's port with --echo-port`,
    );
  }
  const lengthBytes = given.has("blockSize")
    ? parseSizeBytes(flags.blockSize, "--block-size", FRAME_HEADER_BYTES)
    : d.lengthBytes;
  if (lengthBytes > MAX_UDP_PAYLOAD_BYTES) {
    throw new UsageError(
      `Invalid --block-size "${flags.blockSize}": a UDP datagram holds at most ${MAX_UDP_PAYLOAD_BYTES} bytes`,
    );
  }
  const intervalMs = parseDurationMs(flags.interval, "--interval");
  if (intervalMs < 10) {
    throw new UsageError(`Invalid --interval "${flags.interval}": must be at least 10ms`);
  }
  return {
    host,
    port: parsePort(flags.echoPort, "--echo-port"),
    bitsPerSec: flags.bitrate === undefined
      ? d.bitsPerSec
      : parseBitsPerSec(flags.bitrate, "--bitrate"),
    lengthBytes,
    sockets: parseInteger(flags.streams, "--streams", { min: 1, max: 128 }),
    durationMs: parseDurationMs(flags.duration, "--duration"),
    intervalMs,
    timeoutMs: given.has("timeout") ? parseDurationMs(flags.timeout, "--timeout") : d.timeoutMs,
    csvPath: flags.csv,
    jsonPath: flags.json,
    ...parseFleetFlags(flags),
    progress: flags.progress ? "auto" : "never",
  };
}
