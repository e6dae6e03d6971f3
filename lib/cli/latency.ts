/**
 * Flags of `netspeed latency`, turned into {@linkcode LatencyOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { latency } from "../commands/latency.ts";
import { DEFAULT_LATENCY_OPTIONS, type LatencyOptions } from "../latency/options.ts";
import { parseDurationMs, parseHostPort, parseInteger, parseSizeBytes } from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface LatencyFlags {
  workers: string;
  connections: string;
  count?: string;
  duration?: string;
  size: string;
  warmup: string;
  timeout: string;
  verify: boolean;
  csv?: string;
  json?: string;
  progress: boolean;
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
    sizeBytes: parseSizeBytes(flags.size, "--size", 1),
    warmup: parseInteger(flags.warmup, "--warmup", { min: 0 }),
    timeoutMs: parseDurationMs(flags.timeout, "--timeout"),
    verify: flags.verify,
    csvPath: flags.csv,
    jsonPath: flags.json,
    progress: flags.progress ? "auto" : "never",
  };
}

/** Adds the flags every latency-like command shares. */
export const registerLatency: Register = (program, select) => {
  const d = DEFAULT_LATENCY_OPTIONS;
  program
    .command("latency")
    .description("Measure TCP round-trip time against an echo server (closed-loop ping-pong)")
    .argument("<host:port>", "echo server, e.g. 127.0.0.1:7007 or [::1]:7007")
    .option("-w, --workers <n>", "Web Workers (threads)", String(d.workers))
    .option("-c, --connections <n>", "connections per worker", String(d.connections))
    .option("-n, --count <n>", `round trips per connection (default ${d.count})`)
    .option("-d, --duration <duration>", "measure for this long instead of a count (10s, 1m)")
    .option("-s, --size <bytes>", "payload bytes per round trip", String(d.sizeBytes))
    .option("--warmup <n>", "unrecorded round trips per connection first", String(d.warmup))
    .option(
      "--timeout <duration>",
      "limit on connect and on each round trip",
      `${d.timeoutMs / 1000}s`,
    )
    .option("--no-verify", "do not compare echoes with what was sent")
    .option("--csv <file>", "write one row per attempt, during the run")
    .option("--json <file>", "write the summary with options and versions")
    .option("--no-progress", "never draw the progress bar")
    .action((target: string, flags: LatencyFlags) => {
      const options = parseLatencyFlags(target, flags);
      select({ command: "latency", run: () => latency(options) });
    });
};
