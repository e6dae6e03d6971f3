/**
 * Flags of `netspeed throughput`, turned into {@linkcode ThroughputOptions}.
 *
 * @module
 */
import { type FleetFlags, parseFleetFlags } from "./fleet_flags.ts";
import type { Command } from "commander";
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { throughput } from "../commands/throughput.ts";
import { parseUdpThroughputFlags, type UdpThroughputFlags, wantsUdp } from "./throughput_udp.ts";
import { throughputUdp } from "../udp/throughput_udp.ts";
import {
  DEFAULT_MAX_WORKERS,
  DEFAULT_THROUGHPUT_OPTIONS,
  type ThroughputMode,
  type ThroughputOptions,
} from "../throughput/options.ts";
import { parseDurationMs, parseInteger, parsePort, parseSizeBytes } from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface ThroughputFlags extends FleetFlags {
  direction: string;
  streams: string;
  workers?: string;
  duration: string;
  interval: string;
  omit: string;
  blockSize: string;
  echoPort: string;
  discardPort: string;
  chargenPort: string;
  timeout: string;
  csv?: string;
  progress: boolean;
}

/** Shortest interval: timers and scheduling make shorter ones mostly noise. */
export const MIN_INTERVAL_MS = 10;
/** Largest block: each stream holds one or two of them. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/** Most parallel streams, as iperf3 allows. */
export const MAX_STREAMS = 128;

/**
 * Parses the target of a throughput run: a host name or address alone,
 * IPv6 with or without brackets. A port is refused because each direction
 * uses its own service port.
 */
export function parseHost(text: string): string {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\]$/.exec(trimmed);
  if (bracketed) return bracketed[1];
  if (trimmed === "") throw new UsageError(`Invalid host "${text}": the host is missing`);
  const colons = trimmed.split(":").length - 1;
  if (colons === 1 || /^\[.*\]:/.test(trimmed)) {
    throw new UsageError(
      `Invalid host "${text}": give the host alone; set ports with --discard-port, --chargen-port or --echo-port`,
    );
  }
  return trimmed;
}

/** Pure: validates the target and raw flags into options. */
export function parseThroughputFlags(target: string, flags: ThroughputFlags): ThroughputOptions {
  const direction = flags.direction as ThroughputMode;
  if (!["up", "down", "both"].includes(direction)) {
    throw new UsageError(`Invalid --direction "${flags.direction}": expected up, down or both`);
  }
  const intervalMs = parseDurationMs(flags.interval, "--interval");
  if (intervalMs < MIN_INTERVAL_MS) {
    throw new UsageError(
      `Invalid --interval "${flags.interval}": must be at least ${MIN_INTERVAL_MS}ms`,
    );
  }
  const streams = parseInteger(flags.streams, "--streams", { min: 1, max: MAX_STREAMS });
  const blockBytes = parseSizeBytes(flags.blockSize, "--block-size", 1);
  if (blockBytes > MAX_BLOCK_BYTES) {
    throw new UsageError(`Invalid --block-size "${flags.blockSize}": must be at most 16MiB`);
  }
  return {
    host: parseHost(target),
    ports: {
      echo: parsePort(flags.echoPort, "--echo-port"),
      discard: parsePort(flags.discardPort, "--discard-port"),
      chargen: parsePort(flags.chargenPort, "--chargen-port"),
    },
    direction,
    streams,
    workers: flags.workers === undefined
      ? undefined
      : parseInteger(flags.workers, "--workers", { min: 1, max: MAX_STREAMS }),
    durationMs: parseDurationMs(flags.duration, "--duration"),
    intervalMs,
    omitMs: parseDurationMs(flags.omit, "--omit", { allowZero: true }),
    blockBytes,
    timeoutMs: parseDurationMs(flags.timeout, "--timeout"),
    csvPath: flags.csv,
    jsonPath: flags.json,
    ...parseFleetFlags(flags),
    progress: flags.progress ? "auto" : "never",
  };
}

export const registerThroughput: Register = (program, select) => {
  const d = DEFAULT_THROUGHPUT_OPTIONS;
  program
    .command("throughput")
    .description(
      "Measure TCP throughput: up to discard, down from chargen, or both ways through echo",
    )
    .argument("<host>", "server running discard, chargen and echo, e.g. 127.0.0.1 or ::1")
    .option("--direction <dir>", "up (send), down (receive) or both at once", d.direction)
    .option("-P, --streams <n>", "parallel TCP connections", String(d.streams))
    .option(
      "-w, --workers <n>",
      `Web Workers (threads) the streams are spread over (default min(streams, ${DEFAULT_MAX_WORKERS}))`,
    )
    .option("-d, --duration <duration>", "measured time, after --omit", `${d.durationMs / 1000}s`)
    .option(
      "-i, --interval <duration>",
      "length of each reported interval",
      `${d.intervalMs / 1000}s`,
    )
    .option("-O, --omit <duration>", "leading time reported but not counted (slow start)", "0s")
    .option("-l, --block-size <bytes>", "bytes per write and per read", "128KiB")
    .option("--echo-port <port>", "echo port (both)", String(d.ports.echo))
    .option("--discard-port <port>", "discard port (up)", String(d.ports.discard))
    .option("--chargen-port <port>", "chargen port (down)", String(d.ports.chargen))
    .option("--timeout <duration>", "limit on each connect", `${d.timeoutMs / 1000}s`)
    .option("--csv <file>", "write one row per stream, interval and direction, during the run")
    .option("--no-progress", "never draw the progress line")
    .option(
      "-u, --udp",
      "iperf3's UDP mode: datagrams at --bitrate to the UDP echo (serve --udp) and back; loss, jitter, reordering",
    )
    .option("-b, --bitrate <rate>", "UDP: payload bits per second, e.g. 100M, 1G (default 1M)")
    .action((target: string, flags: ThroughputFlags & UdpThroughputFlags, command: Command) => {
      if (wantsUdp(flags)) {
        const given = new Set(
          command.options.map((o) => o.attributeName()).filter((name) =>
            command.getOptionValueSource(name) === "cli"
          ),
        );
        const udpOptions = parseUdpThroughputFlags(target, flags, given);
        select({ command: "throughput", run: () => throughputUdp(udpOptions) });
        return;
      }
      const options = parseThroughputFlags(target, flags);
      select({ command: "throughput", run: () => throughput(options) });
    });
};
