/**
 * Flags of `netspeed agent`, turned into {@linkcode AgentOptions}.
 *
 * @module
 */
import type { Register } from "./program.ts";
import { UsageError } from "../errors.ts";
import { agent, type AgentOptions, DEFAULT_AGENT_OPTIONS } from "../commands/agent.ts";
import { PROBE_KINDS, type ProbeKind } from "../agent/outcome.ts";
import { MIN_HLOG_MAX_BYTES } from "../agent/hlog_sink.ts";
import {
  formatHostPort,
  parseDurationMs,
  parseHostPort,
  parseInteger,
  parsePort,
  parseRatePerSec,
  parseSizeBytes,
} from "../units.ts";

/** Raw flag values as commander hands them over. */
export interface AgentFlags {
  nodeId?: string;
  host: string;
  port: string;
  peers?: string;
  peersDns?: string;
  peersSubset?: string;
  probes: string;
  interval: string;
  timeout: string;
  metricsListen: string;
  maxConnections: string;
  udpRateLimit: string;
  hlogDir?: string;
  hlogInterval: string;
  hlogMaxBytes: string;
}

/** The host name, the default `--node-id`. */
function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** Pure (apart from the host name default): validates raw flags into options. */
export function parseAgentFlags(flags: AgentFlags): AgentOptions {
  const d = DEFAULT_AGENT_OPTIONS;
  if ((flags.peers === undefined) === (flags.peersDns === undefined)) {
    throw new UsageError(
      flags.peers === undefined
        ? "Option --peers FILE or --peers-dns NAME:PORT is required"
        : `Options --peers "${flags.peers}" and --peers-dns "${flags.peersDns}" cannot be used together`,
    );
  }
  const probes = flags.probes.split(",").map((p) => p.trim());
  for (const probe of probes) {
    if (!(PROBE_KINDS as readonly string[]).includes(probe)) {
      throw new UsageError(
        `Invalid --probes "${flags.probes}": "${probe}" is not one of ${PROBE_KINDS.join(", ")}`,
      );
    }
  }
  if (new Set(probes).size !== probes.length) {
    throw new UsageError(`Invalid --probes "${flags.probes}": a probe is named twice`);
  }
  const nodeId = flags.nodeId ?? hostName();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(nodeId)) {
    throw new UsageError(
      `Invalid --node-id "${nodeId}": use letters, digits, dots, colons, dashes and underscores`,
    );
  }
  const metrics = parseListenAddress(flags.metricsListen);
  return {
    nodeId,
    host: flags.host,
    port: parsePort(flags.port, "--port", { allowZero: true }),
    peers: flags.peers !== undefined
      ? { kind: "file", path: flags.peers }
      : { kind: "dns", ...dnsPeers(flags.peersDns!) },
    peersSubset: flags.peersSubset === undefined
      ? undefined
      : parseInteger(flags.peersSubset, "--peers-subset", { min: 1 }),
    probes: probes as ProbeKind[],
    intervalMs: parseDurationMs(flags.interval, "--interval"),
    jitterFraction: d.jitterFraction,
    timeoutMs: parseDurationMs(flags.timeout, "--timeout"),
    metrics: { host: metrics.host, port: metrics.port },
    hlogDir: flags.hlogDir,
    hlogIntervalMs: parseDurationMs(flags.hlogInterval, "--hlog-interval"),
    hlogMaxBytes: parseSizeBytes(flags.hlogMaxBytes, "--hlog-max-bytes", MIN_HLOG_MAX_BYTES),
    maxConnections: parseInteger(flags.maxConnections, "--max-connections", { min: 1 }),
    udpRateLimitPerSec: parseRatePerSec(flags.udpRateLimit, "--udp-rate-limit"),
  };
}

/** `HOST:PORT` where port 0 (the OS picks) is allowed too. */
function parseListenAddress(text: string): { host: string; port: number } {
  const zero = /:0$/.test(text);
  const parsed = parseHostPort(zero ? text.replace(/:0$/, ":1") : text);
  return { host: parsed.host, port: zero ? 0 : parsed.port };
}

function dnsPeers(text: string): { name: string; port: number } {
  try {
    const { host, port } = parseHostPort(text);
    return { name: host, port };
  } catch {
    throw new UsageError(`Invalid --peers-dns "${text}": expected NAME:PORT`);
  }
}

export const registerAgent: Register = (program, select) => {
  const d = DEFAULT_AGENT_OPTIONS;
  program
    .command("agent")
    .description(
      "Run the echo services and probe every peer continuously (tcp, connect, udp); " +
        "results on /metrics for Prometheus",
    )
    .option("--node-id <name>", "this agent's name: the source label (default: the host name)")
    .option(
      "--host <address>",
      "address the echo services (TCP and UDP) bind; anything but loopback exposes them",
      d.host,
    )
    .option("-p, --port <port>", "echo port, TCP and UDP (0 picks a free port)", String(d.port))
    .option("--peers <file>", "peer list, one NAME HOST:PORT per line; re-read when it changes")
    .option(
      "--peers-dns <name:port>",
      "probe every address of NAME (e.g. a headless Service), re-resolved every 30 s",
    )
    .option("--peers-subset <k>", "probe only K peers, chosen by rendezvous hashing")
    .option("--probes <list>", "probe kinds: tcp, connect, udp", d.probes.join(","))
    .option(
      "--interval <duration>",
      "mean gap between probes of one kind to one peer (jittered ±20%)",
      `${d.intervalMs / 1000}s`,
    )
    .option(
      "--timeout <duration>",
      "limit on each probe; a UDP probe unanswered this long is lost",
      `${d.timeoutMs / 1000}s`,
    )
    .option(
      "--metrics-listen <host:port>",
      "where /metrics listens",
      formatHostPort(d.metrics),
    )
    .option(
      "--max-connections <n>",
      "echo connections open at once; more are closed at once",
      String(d.maxConnections),
    )
    .option(
      "--udp-rate-limit <rate>",
      "UDP echoes answered per second over all senders; more are dropped",
      `${d.udpRateLimitPerSec}/s`,
    )
    .option(
      "--hlog-dir <dir>",
      "keep one HdrHistogram interval log per peer and probe (and a counts CSV) in DIR/NODE-ID/",
    )
    .option("--hlog-interval <duration>", "interval of the hlogs", `${d.hlogIntervalMs / 1000}s`)
    .option(
      "--hlog-max-bytes <bytes>",
      "bound on the hlog directory: files rotate and the oldest are deleted",
      "100MiB",
    )
    .action((flags: AgentFlags) => {
      const options = parseAgentFlags(flags);
      select({ command: "agent", run: () => agent(options) });
    });
};
