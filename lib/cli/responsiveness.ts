/**
 * Flags of `netspeed responsiveness`, turned into
 * {@linkcode ResponsivenessOptions}.
 *
 * @module
 */
import { type FleetFlags, parseFleetFlags } from "./fleet_flags.ts";
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { type HlogFlags, hlogIntervalOption, hlogOption, parseHlogFlags } from "./hlog.ts";
import { responsiveness } from "../commands/responsiveness.ts";
import {
  DEFAULT_RESPONSIVENESS_OPTIONS,
  type ResponsivenessOptions,
} from "../responsiveness/options.ts";
import { parseDurationMs, parseInteger, parsePort, parseSizeBytes } from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface ResponsivenessFlags extends FleetFlags, HlogFlags {
  idle: string;
  loaded: string;
  streams: string;
  blockSize: string;
  probeInterval: string;
  selfConnections: string;
  echoPort: string;
  discardPort: string;
  chargenPort: string;
  timeout: string;
  csv?: string;
  progress: boolean;
}

/** The draft's upper bound on load-generating connections (MNP), per direction here. */
export const MAX_LOAD_STREAMS = 16;

/** Pure: validates the target and raw flags into options. */
export function parseResponsivenessFlags(
  target: string,
  flags: ResponsivenessFlags,
): ResponsivenessOptions {
  const trimmed = target.trim();
  const bracketed = /^\[([^\]]+)\]$/.exec(trimmed);
  const host = bracketed ? bracketed[1] : trimmed;
  if (host === "") throw new UsageError(`Invalid host "${target}": the host is missing`);
  if (!bracketed && host.split(":").length === 2) {
    throw new UsageError(
      `Invalid host "${target}": give the host alone; set ports with --echo-port, --discard-port or --chargen-port`,
    );
  }
  const probeIntervalMs = parseDurationMs(flags.probeInterval, "--probe-interval");
  if (probeIntervalMs < 5) {
    throw new UsageError(`Invalid --probe-interval "${flags.probeInterval}": must be at least 5ms`);
  }
  return {
    host,
    ports: {
      echo: parsePort(flags.echoPort, "--echo-port"),
      discard: parsePort(flags.discardPort, "--discard-port"),
      chargen: parsePort(flags.chargenPort, "--chargen-port"),
    },
    idleMs: parseDurationMs(flags.idle, "--idle"),
    loadedMs: parseDurationMs(flags.loaded, "--loaded"),
    streams: parseInteger(flags.streams, "--streams", { min: 1, max: MAX_LOAD_STREAMS }),
    blockBytes: parseSizeBytes(flags.blockSize, "--block-size", 1),
    probeIntervalMs,
    selfConnections: parseInteger(flags.selfConnections, "--self-connections", {
      min: 1,
      max: 64,
    }),
    timeoutMs: parseDurationMs(flags.timeout, "--timeout"),
    csvPath: flags.csv,
    jsonPath: flags.json,
    ...parseFleetFlags(flags),
    hlog: parseHlogFlags(flags),
    progress: flags.progress ? "auto" : "never",
  };
}

/** Adds `netspeed responsiveness`. */
export const registerResponsiveness: Register = (program, select) => {
  const d = DEFAULT_RESPONSIVENESS_OPTIONS;
  program
    .command("responsiveness")
    .description(
      "Round-trip times on an idle path, then under load both ways, and round trips per minute (RPM)",
    )
    .argument("<host>", "server running echo, discard and chargen, e.g. 127.0.0.1 or ::1")
    .option("--idle <duration>", "probing before the load", `${d.idleMs / 1000}s`)
    .option("--loaded <duration>", "probing while the load runs", `${d.loadedMs / 1000}s`)
    .option(
      "-P, --streams <n>",
      `load streams per direction (up to discard, down from chargen), at most ${MAX_LOAD_STREAMS}`,
      String(d.streams),
    )
    .option("-l, --block-size <bytes>", "bytes per write and per read of the load", "128KiB")
    .option(
      "--probe-interval <duration>",
      "a foreign and a self probe start every this often",
      `${d.probeIntervalMs}ms`,
    )
    .option(
      "--self-connections <n>",
      "long-lived echo connections the self probes take turns on",
      String(d.selfConnections),
    )
    .option("--echo-port <port>", "echo port (probes)", String(d.ports.echo))
    .option("--discard-port <port>", "discard port (upload load)", String(d.ports.discard))
    .option("--chargen-port <port>", "chargen port (download load)", String(d.ports.chargen))
    .option(
      "--timeout <duration>",
      "limit on each connect and each probe",
      `${d.timeoutMs / 1000}s`,
    )
    .option("--csv <file>", "write one row per probe, with its phase, during the run")
    .addOption(hlogOption())
    .addOption(hlogIntervalOption())
    .option("--no-progress", "never draw the progress bar")
    .action((target: string, flags: ResponsivenessFlags) => {
      const options = parseResponsivenessFlags(target, flags);
      select({ command: "responsiveness", run: () => responsiveness(options) });
    });
};
