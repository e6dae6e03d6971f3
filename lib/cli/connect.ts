/**
 * Flags of `netspeed connect`, turned into {@linkcode ConnectOptions}.
 *
 * @module
 */
import { type FleetFlags, parseFleetFlags } from "./fleet_flags.ts";
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { type HlogFlags, hlogIntervalOption, hlogOption, parseHlogFlags } from "./hlog.ts";
import { connect } from "../commands/connect.ts";
import { type ConnectOptions, DEFAULT_CONNECT_OPTIONS } from "../connect/options.ts";
import { parseDurationMs, parseHostPort, parseInteger } from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface ConnectFlags extends FleetFlags, HlogFlags {
  workers: string;
  count?: string;
  duration?: string;
  timeout: string;
  tls: boolean;
  ca?: string;
  csv?: string;
  progress: boolean;
}

/** Pure: validates the target and raw flags into options. */
export function parseConnectFlags(target: string, flags: ConnectFlags): ConnectOptions {
  const d = DEFAULT_CONNECT_OPTIONS;
  if (flags.count !== undefined && flags.duration !== undefined) {
    throw new UsageError("Options --count and --duration cannot be used together");
  }
  if (flags.ca !== undefined && !flags.tls) {
    throw new UsageError(`Option --ca "${flags.ca}" needs --tls`);
  }
  const durationMs = flags.duration === undefined
    ? undefined
    : parseDurationMs(flags.duration, "--duration");
  return {
    target: parseHostPort(target),
    workers: parseInteger(flags.workers, "--workers", { min: 1, max: 256 }),
    count: durationMs !== undefined
      ? undefined
      : flags.count === undefined
      ? d.count
      : parseInteger(flags.count, "--count", { min: 1 }),
    durationMs,
    timeoutMs: parseDurationMs(flags.timeout, "--timeout"),
    tls: flags.tls,
    caFile: flags.ca,
    csvPath: flags.csv,
    jsonPath: flags.json,
    ...parseFleetFlags(flags),
    hlog: parseHlogFlags(flags),
    progress: flags.progress ? "auto" : "never",
  };
}

export const registerConnect: Register = (program, select) => {
  const d = DEFAULT_CONNECT_OPTIONS;
  program
    .command("connect")
    .description("Measure TCP connection set-up time (and TLS handshake time with --tls)")
    .argument("<host:port>", "any TCP server, e.g. 127.0.0.1:7007 or [::1]:7443")
    .option(
      "-w, --workers <n>",
      "Web Workers, each opening one connection at a time",
      String(d.workers),
    )
    .option("-n, --count <n>", `connections per worker (default ${d.count})`)
    .option("-d, --duration <duration>", "run for this long instead of a count (10s, 1m)")
    .option(
      "--timeout <duration>",
      "limit on each connect (and handshake)",
      `${d.timeoutMs / 1000}s`,
    )
    .option("--tls", "also time the TLS handshake (serve --tls-cert --tls-key)")
    .option(
      "--ca <file>",
      "PEM certificate to trust, e.g. the server's self-signed one (with --tls)",
    )
    .option("--csv <file>", "write one row per attempt, during the run")
    .addOption(hlogOption())
    .addOption(hlogIntervalOption())
    .option("--no-progress", "never draw the progress bar")
    .action((target: string, flags: ConnectFlags) => {
      const options = parseConnectFlags(target, flags);
      select({ command: "connect", run: () => connect(options) });
    });
};
