/**
 * Flags of `netspeed serve`, turned into {@linkcode ServeOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { DEFAULT_SERVE_OPTIONS, serve, type ServeOptions } from "../commands/serve.ts";
import { UsageError } from "../errors.ts";
import { DEFAULT_TLS_PORT } from "../server/tcp_services.ts";
import { DEFAULT_UDP_ECHO_OPTIONS } from "../server/udp_echo.ts";
import { defaultBusyPollThreads } from "../server/busy_poll_echo.ts";
import {
  parseDurationMs,
  parseInteger,
  parsePort,
  parseRatePerSec,
  parseSizeBytes,
} from "../units.ts";

/** Largest UDP payload over IPv4: the most `--udp-max-size` can allow. */
const MAX_UDP_DATAGRAM_BYTES = 65_507;

/** Raw flag values as commander hands them over. */
export interface ServeFlags {
  host: string;
  port: string;
  discardPort: string;
  chargenPort: string;
  echo: boolean;
  discard: boolean;
  chargen: boolean;
  maxConnections: string;
  /** Absent when a caller builds flags by hand; commander always sets it. */
  maxConnectionsPerClient?: string;
  /** Absent when a caller builds flags by hand; commander always sets it. */
  threads?: string;
  /** Absent when a caller builds flags by hand; commander always sets it. */
  backlog?: string;
  idleTimeout: string;
  bufferSize: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Absent when a caller builds flags by hand; commander always sets it. */
  tlsPort?: string;
  /** Also echo over UDP on the echo port's number. */
  udp?: boolean;
  udpHost?: string;
  udpMaxSize?: string;
  udpRateLimit?: string;
  timePort?: string;
  busyPoll?: boolean;
  busyPollThreads?: string;
  udpRateLimitPerSource?: string;
  /** "deno" (default) or "ffi": the TCP echo through libc's epoll. */
  engine?: string;
}

/** Pure: the UDP echo options of `--udp` and its companions, or null without `--udp`. */
export function parseServeUdpFlags(flags: ServeFlags): ServeOptions["udp"] {
  const d = DEFAULT_UDP_ECHO_OPTIONS;
  const companions = [
    ["--udp-host", flags.udpHost],
    ["--udp-max-size", flags.udpMaxSize],
    ["--udp-rate-limit", flags.udpRateLimit],
    ["--udp-rate-limit-per-source", flags.udpRateLimitPerSource],
  ] as const;
  if (!flags.udp) {
    const given = companions.find(([, value]) => value !== undefined);
    if (given) throw new UsageError(`Option ${given[0]} "${given[1]}" needs --udp too`);
    return null;
  }
  const maxDatagramBytes = flags.udpMaxSize === undefined
    ? d.maxDatagramBytes
    : parseSizeBytes(flags.udpMaxSize, "--udp-max-size", 1);
  if (maxDatagramBytes > MAX_UDP_DATAGRAM_BYTES) {
    throw new UsageError(
      `Invalid --udp-max-size "${flags.udpMaxSize}": a UDP datagram holds at most ${MAX_UDP_DATAGRAM_BYTES} bytes`,
    );
  }
  return {
    host: flags.udpHost ?? d.host,
    maxDatagramBytes,
    maxPerSec: flags.udpRateLimit === undefined
      ? d.maxPerSec
      : parseRatePerSec(flags.udpRateLimit, "--udp-rate-limit"),
    maxPerSourcePerSec: flags.udpRateLimitPerSource === undefined
      ? 0
      : parseRatePerSec(flags.udpRateLimitPerSource, "--udp-rate-limit-per-source"),
  };
}

/** Pure: validates raw flags into options. */
export function parseServeFlags(flags: ServeFlags): ServeOptions {
  const d = DEFAULT_SERVE_OPTIONS;
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError(
      flags.tlsCert === undefined
        ? `Option --tls-key "${flags.tlsKey}" needs --tls-cert too`
        : `Option --tls-cert "${flags.tlsCert}" needs --tls-key too`,
    );
  }
  const tlsPort = parsePort(flags.tlsPort ?? String(DEFAULT_TLS_PORT), "--tls-port", {
    allowZero: true,
  });
  return {
    host: flags.host,
    ports: {
      echo: flags.echo ? parsePort(flags.port, "--port", { allowZero: true }) : null,
      discard: flags.discard
        ? parsePort(flags.discardPort, "--discard-port", { allowZero: true })
        : null,
      chargen: flags.chargen
        ? parsePort(flags.chargenPort, "--chargen-port", { allowZero: true })
        : null,
    },
    maxConnections: parseInteger(flags.maxConnections, "--max-connections", { min: 1 }),
    maxConnectionsPerClient: flags.maxConnectionsPerClient === undefined
      ? d.maxConnectionsPerClient
      : parseInteger(flags.maxConnectionsPerClient, "--max-connections-per-client", { min: 0 }),
    threads: flags.threads === undefined
      ? d.threads
      : parseInteger(flags.threads, "--threads", { min: 1, max: 1024 }),
    backlog: flags.backlog === undefined
      ? d.backlog
      : parseInteger(flags.backlog, "--backlog", { min: 1, max: 65535 }),
    idleTimeoutMs: parseDurationMs(flags.idleTimeout, "--idle-timeout", { allowZero: true }),
    bufferBytes: parseSizeBytes(flags.bufferSize, "--buffer-size", 1) ?? d.bufferBytes,
    tls: flags.tlsCert !== undefined && flags.tlsKey !== undefined
      ? { port: tlsPort, certFile: flags.tlsCert, keyFile: flags.tlsKey }
      : null,
    udp: parseServeUdpFlags(flags),
    timePort: flags.timePort === undefined
      ? null
      : parsePort(flags.timePort, "--time-port", { allowZero: true }),
    busyPoll: parseServeBusyPollFlags(flags),
    engine: parseServeEngineFlag(flags),
  };
}

/**
 * Pure: the checks of a plain TCP echo served through FFI (`--busy-poll`,
 * `--engine ffi`): Linux, no UDP, no TLS, the echo on, an IP address.
 */
function requirePlainFfiEcho(flags: ServeFlags, option: string, os: string): void {
  if (os !== "linux") throw new UsageError(`Option ${option} runs on Linux only, not on "${os}"`);
  if (flags.udp) {
    throw new UsageError(`Option ${option} serves TCP echo only: it cannot be used with --udp`);
  }
  if (flags.tlsCert !== undefined) {
    throw new UsageError(
      `Option ${option} serves plain TCP echo only: it cannot be used with --tls-cert "${flags.tlsCert}"`,
    );
  }
  if (!flags.echo) {
    throw new UsageError(`Option ${option} serves echo: it cannot be used with --no-echo`);
  }
  if (!/^(\d+\.\d+\.\d+\.\d+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)$/.test(flags.host)) {
    throw new UsageError(`Option ${option} binds an IP address, not "${flags.host}"`);
  }
}

/** Pure: `--engine`, "deno" (the default) or "ffi" (echo only, through epoll). */
export function parseServeEngineFlag(
  flags: ServeFlags,
  os: string = Deno.build.os,
): "deno" | "ffi" {
  const engine = flags.engine ?? "deno";
  if (engine !== "deno" && engine !== "ffi") {
    throw new UsageError(`Invalid --engine "${engine}": expected deno or ffi`);
  }
  if (engine === "ffi") {
    if (flags.busyPoll) {
      throw new UsageError(
        "Options --engine ffi and --busy-poll are two FFI echoes: give one (--busy-poll spins, --engine ffi waits in epoll)",
      );
    }
    requirePlainFfiEcho(flags, "--engine ffi", os);
  }
  return engine;
}

/** Pure: `--busy-poll` and its bound, or null without `--busy-poll`. */
export function parseServeBusyPollFlags(
  flags: ServeFlags,
  os: string = Deno.build.os,
): ServeOptions["busyPoll"] {
  if (!flags.busyPoll) {
    if (flags.busyPollThreads !== undefined) {
      throw new UsageError(
        `Option --busy-poll-threads "${flags.busyPollThreads}" needs --busy-poll too`,
      );
    }
    return null;
  }
  requirePlainFfiEcho(flags, "--busy-poll", os);
  // With --busy-poll a thread is a connection spun for, so --threads is its bound too.
  if (
    flags.threads !== undefined && flags.busyPollThreads !== undefined &&
    flags.threads !== flags.busyPollThreads
  ) {
    throw new UsageError(
      `Options --threads "${flags.threads}" and --busy-poll-threads "${flags.busyPollThreads}" disagree: with --busy-poll both bound the connections spun for at once (give one)`,
    );
  }
  const [bound, name] = flags.busyPollThreads !== undefined
    ? [flags.busyPollThreads, "--busy-poll-threads"]
    : [flags.threads, "--threads"];
  return {
    threads: bound === undefined
      ? defaultBusyPollThreads()
      : parseInteger(bound, name, { min: 1, max: 1024 }),
  };
}

export const registerServe: Register = (program, select) => {
  const d = DEFAULT_SERVE_OPTIONS;
  program
    .command("serve")
    .description("Run echo (RFC 862), discard (RFC 863) and chargen (RFC 864) servers")
    .option("--host <address>", "address to bind; anything but loopback exposes the server", d.host)
    .option("-p, --port <port>", "echo port (0 picks a free port)", String(d.ports.echo))
    .option("--discard-port <port>", "discard port (0 picks a free port)", String(d.ports.discard))
    .option("--chargen-port <port>", "chargen port (0 picks a free port)", String(d.ports.chargen))
    .option("--no-echo", "do not run the echo service")
    .option("--no-discard", "do not run the discard service")
    .option("--no-chargen", "do not run the chargen service")
    .option(
      "--max-connections <n>",
      "connections open at once; more are closed at once",
      String(d.maxConnections),
    )
    .option(
      "--max-connections-per-client <n>",
      "connections open at once from one source address; more are closed at once (0: no limit)",
      String(d.maxConnectionsPerClient),
    )
    .option(
      "--threads <n>",
      "threads, each with its own listener on the same ports (default: the number of cores); with --engine ffi, the threads waiting in epoll; with --busy-poll, the connections spun for at once",
    )
    .option(
      "--backlog <n>",
      "accept queue length per listener (the kernel caps it at net.core.somaxconn)",
      String(d.backlog),
    )
    .option(
      "--idle-timeout <duration>",
      "close connections idle this long (0: never)",
      `${d.idleTimeoutMs / 1000}s`,
    )
    .option("--buffer-size <bytes>", "bytes buffered per connection", String(d.bufferBytes))
    .option("--tls-cert <file>", "PEM certificate chain: also run echo over TLS (needs --tls-key)")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option(
      "--tls-port <port>",
      "port of echo over TLS (0 picks a free port)",
      String(DEFAULT_TLS_PORT),
    )
    .option("--udp", "also echo over UDP, on the echo port's number")
    .option(
      "--udp-host <address>",
      `address the UDP echo binds (default ${DEFAULT_UDP_ECHO_OPTIONS.host}: UDP stays on loopback unless this says otherwise, even with --host)`,
    )
    .option(
      "--udp-max-size <bytes>",
      `larger datagrams are dropped unanswered (default ${DEFAULT_UDP_ECHO_OPTIONS.maxDatagramBytes})`,
    )
    .option(
      "--udp-rate-limit <rate>",
      `datagrams answered per second over all senders; more are dropped (default ${DEFAULT_UDP_ECHO_OPTIONS.maxPerSec}/s)`,
    )
    .option(
      "--time-port <port>",
      "also tell clients the time on this port (their --time-port), so that merge can tell skewed clocks; 0 picks a free port",
    )
    .option(
      "--engine <name>",
      "deno, or ffi: echo only, served through libc's epoll as a C server serves it (Linux, needs --allow-ffi)",
      "deno",
    )
    .option(
      "--busy-poll",
      "echo only, each connection on its own thread reading in a spin: no wake-up in the echo's time, a full core per connection (Linux, needs --allow-ffi)",
    )
    .option(
      "--busy-poll-threads <n>",
      `connections served at once with --busy-poll, the same as --threads there; more are closed at once (default: cores - 1, here ${defaultBusyPollThreads()})`,
    )
    .option(
      "--udp-rate-limit-per-source <rate>",
      "datagrams answered per second from one source address; more are dropped (default: no such limit)",
    )
    .action((flags: ServeFlags) => {
      const options = parseServeFlags(flags);
      select({ command: "serve", run: () => serve(options) });
    });
};
