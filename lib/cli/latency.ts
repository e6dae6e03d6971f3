/**
 * Flags of `netspeed latency`, turned into {@linkcode LatencyOptions}.
 *
 * @module
 */
import { type FleetFlags, parseFleetFlags } from "./fleet_flags.ts";
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { type HlogFlags, hlogIntervalOption, hlogOption, parseHlogFlags } from "./hlog.ts";
import { ENGINE_HELP, parseEngineFlags } from "./engine.ts";
import { latency } from "../commands/latency.ts";
import { DEFAULT_LATENCY_OPTIONS, type LatencyOptions } from "../latency/options.ts";
import { FRAME_HEADER_BYTES } from "../latency/frame.ts";
import {
  parseDurationMs,
  parseHostPort,
  parseInteger,
  parseRatePerSec,
  parseSizeBytes,
} from "../units.ts";

/** Rate of `--udp` runs when `--rate` is not given (UDP is always paced). */
export const DEFAULT_UDP_RATE_PER_SEC = 1000;
/** `--timeout` of `--udp` runs when not given: how long an echo may take before it is lost. */
export const DEFAULT_UDP_TIMEOUT_MS = 1000;
/** Largest UDP payload over IPv4 (65 535 − 8 − 20). */
export const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** Raw flag values as commander hands them over. */
export interface LatencyFlags extends FleetFlags, HlogFlags {
  workers: string;
  connections: string;
  count?: string;
  duration?: string;
  size: string;
  warmup: string;
  timeout?: string;
  verify: boolean;
  rate?: string;
  udp?: boolean;
  csv?: string;
  report?: string;
  progress: boolean;
  engine?: string;
  busyPoll?: boolean;
  calibrate?: boolean;
  kernelTimestamps?: boolean;
}

/** Pure: validates the target and raw flags into options. */
export function parseLatencyFlags(target: string, flags: LatencyFlags): LatencyOptions {
  const d = DEFAULT_LATENCY_OPTIONS;
  if (flags.count !== undefined && flags.duration !== undefined) {
    throw new UsageError("Options --count and --duration cannot be used together");
  }
  const durationMs = flags.duration === undefined
    ? undefined
    : parseDurationMs(flags.duration, "--duration");
  const udp = flags.udp === true;
  const ratePerSec = flags.rate !== undefined
    ? parseRatePerSec(flags.rate, "--rate")
    : udp
    ? DEFAULT_UDP_RATE_PER_SEC
    : undefined;
  const mode = ratePerSec === undefined ? "closed-loop" : "open-loop";
  const sizeBytes = parseSizeBytes(flags.size, "--size", 1);
  const engine = parseEngineFlags(flags.engine, flags.busyPoll);
  if (udp && flags.calibrate) {
    throw new UsageError(
      "Option --calibrate measures a TCP engine's own round trip: it cannot be used with --udp",
    );
  }
  // --udp alone implies a rate, so it is named before --rate is.
  if (udp && engine === "busy-poll") {
    throw new UsageError(
      "Option --busy-poll is for TCP ping-pong: it cannot be used with --udp (use --engine ffi)",
    );
  }
  if (engine === "busy-poll" && ratePerSec !== undefined) {
    throw new UsageError(
      `Option --busy-poll is for closed-loop ping-pong: it cannot be used with --rate "${flags.rate}" (use --engine ffi)`,
    );
  }
  const kernelTimestamps = flags.kernelTimestamps === true;
  if (kernelTimestamps && engine === "deno") {
    throw new UsageError(
      "Option --kernel-timestamps reads the kernel's receive time of each echo through FFI: it needs --engine ffi (or --busy-poll)",
    );
  }
  if (kernelTimestamps && !udp && ratePerSec !== undefined) {
    throw new UsageError(
      `Option --kernel-timestamps times TCP echoes in closed-loop ping-pong only: with --rate "${flags.rate}" one read can hold several echoes, and the kernel stamps only the last (use --udp)`,
    );
  }
  if (mode === "open-loop" && sizeBytes < FRAME_HEADER_BYTES) {
    throw new UsageError(
      `Invalid --size "${flags.size}": open-loop messages carry a ${FRAME_HEADER_BYTES}-byte header (sequence number and send time), so they need at least ${FRAME_HEADER_BYTES} bytes`,
    );
  }
  if (udp && sizeBytes > MAX_UDP_PAYLOAD_BYTES) {
    throw new UsageError(
      `Invalid --size "${flags.size}": a UDP datagram holds at most ${MAX_UDP_PAYLOAD_BYTES} bytes`,
    );
  }
  return {
    target: parseHostPort(target),
    workers: parseInteger(flags.workers, "--workers", { min: 1, max: 256 }),
    connections: parseInteger(flags.connections, "--connections", { min: 1, max: 10_000 }),
    count: durationMs !== undefined
      ? undefined
      : flags.count === undefined
      ? d.count
      : parseInteger(flags.count, "--count", { min: 1 }),
    durationMs,
    mode,
    ratePerSec,
    transport: udp ? "udp" : "tcp",
    sizeBytes,
    warmup: parseInteger(flags.warmup, "--warmup", { min: 0 }),
    timeoutMs: flags.timeout === undefined
      ? (udp ? DEFAULT_UDP_TIMEOUT_MS : d.timeoutMs)
      : parseDurationMs(flags.timeout, "--timeout"),
    verify: flags.verify,
    // The report is built from the CSV, so --report alone writes one beside it.
    csvPath: flags.csv ?? (flags.report === undefined ? undefined : csvBesideReport(flags.report)),
    jsonPath: flags.json,
    ...parseFleetFlags(flags),
    hlog: parseHlogFlags(flags),
    reportPath: flags.report,
    progress: flags.progress ? "auto" : "never",
    engine,
    calibrate: flags.calibrate === true,
    ...(kernelTimestamps ? { kernelTimestamps } : {}),
  };
}

/** Where `--report` without `--csv` puts the CSV: `run.html` → `run.csv`. */
export function csvBesideReport(reportPath: string): string {
  if (/\.csv$/i.test(reportPath)) {
    throw new UsageError(`Invalid --report "${reportPath}": the report is HTML, not CSV`);
  }
  return /\.html?$/i.test(reportPath)
    ? reportPath.replace(/\.html?$/i, ".csv")
    : `${reportPath}.csv`;
}

/** Adds the flags every latency-like command shares. */
export const registerLatency: Register = (program, select) => {
  const d = DEFAULT_LATENCY_OPTIONS;
  program
    .command("latency")
    .description(
      "Measure round-trip time against an echo server: closed-loop ping-pong, or open loop at a fixed --rate (TCP or --udp)",
    )
    .argument("<host:port>", "echo server, e.g. 127.0.0.1:7007 or [::1]:7007")
    .option("-w, --workers <n>", "Web Workers (threads)", String(d.workers))
    .option("-c, --connections <n>", "connections per worker", String(d.connections))
    .option(
      "-n, --count <n>",
      `round trips (messages, with --rate) per connection (default ${d.count})`,
    )
    .option("-d, --duration <duration>", "measure for this long instead of a count (10s, 1m)")
    .option("-s, --size <bytes>", "payload bytes per round trip", String(d.sizeBytes))
    .option("--warmup <n>", "unrecorded round trips per connection first", String(d.warmup))
    .option(
      "--timeout <duration>",
      `limit on connect and on each round trip (default ${d.timeoutMs / 1000}s, ${
        DEFAULT_UDP_TIMEOUT_MS / 1000
      }s with --udp)`,
    )
    .option(
      "--rate <rate>",
      "open loop: send this many messages per second over all connections, whatever the replies do (20000/s, 1.5k/s)",
    )
    .option(
      "--udp",
      `send datagrams to a UDP echo (always open loop; --rate defaults to ${DEFAULT_UDP_RATE_PER_SEC}/s)`,
    )
    .option("--engine <name>", ENGINE_HELP)
    .option(
      "--busy-poll",
      "FFI engine reading in a spin, so no thread wake-up is measured (uses a full core per Worker)",
    )
    .option(
      "--calibrate",
      "first measure this client's own round trip against an in-process echo on loopback (its floor)",
    )
    .option(
      "--kernel-timestamps",
      "with --engine ffi: end each round trip when the echo reached this host (the kernel's receive timestamp), not when the client read it (TCP ping-pong, or --udp)",
    )
    .option("--no-verify", "do not compare echoes with what was sent")
    .option("--csv <file>", "write one row per attempt, during the run")
    .addOption(hlogOption())
    .addOption(hlogIntervalOption())
    .option(
      "--report <file>",
      "write an interactive HTML report after the run (without --csv, the CSV goes beside it)",
    )
    .option("--no-progress", "never draw the progress bar")
    .action((target: string, flags: LatencyFlags) => {
      const options = parseLatencyFlags(target, flags);
      select({ command: "latency", run: () => latency(options) });
    });
};
