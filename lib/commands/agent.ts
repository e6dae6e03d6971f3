/**
 * `netspeed agent`: runs the echo services (TCP and UDP on one port),
 * probes every peer continuously (tcp, connect, udp) on a jittered
 * schedule, serves the results on `/metrics` for Prometheus, and keeps
 * the peer list current. Stops on SIGINT/SIGTERM, printing its own count
 * of every pair; exit 0.
 *
 * @module
 */
import { ExitCode, type ExitCodeValue, RunError } from "../errors.ts";
import { onInterrupt } from "../signals.ts";
import { formatCount, formatTable, formatUs } from "../table.ts";
import { formatHostPort } from "../units.ts";
import { latencyStats } from "../histogram.ts";
import {
  DEFAULT_SERVER_OPTIONS,
  type RunningServer,
  startServer,
} from "../server/server_thread.ts";
import { DEFAULT_UDP_ECHO_OPTIONS } from "../server/udp_echo.ts";
import type { AgentOptions } from "../agent/options.ts";
import { AgentMetrics, serveMetrics, watchEventLoopLag } from "../agent/metrics.ts";
import { AgentTally, fanOut, type OutcomeSink, type PairTally } from "../agent/outcome.ts";
import { Mesh, type MeshChange } from "../agent/mesh.ts";
import { AgentHlogs } from "../agent/hlog_sink.ts";
import { normalizeHost, type Peer } from "../agent/peers.ts";
import {
  type PeerSource,
  readPeerFile,
  watchPeerDns,
  watchPeerFile,
} from "../agent/peer_source.ts";

export type { AgentOptions } from "../agent/options.ts";
export { DEFAULT_AGENT_OPTIONS } from "../agent/options.ts";

/**
 * A removed peer's series stay on /metrics this long: Prometheus scrapes
 * its last counts, and a fleet whose members come and go does not grow
 * the exposition without end.
 */
export const FORGET_PEER_AFTER_MS = 10 * 60_000;

/** Runs the agent until a signal arrives; resolves with the exit code. */
export async function agent(options: AgentOptions): Promise<ExitCodeValue> {
  // The peer file is read before anything binds, so a bad one starts nothing.
  const initial = options.peers.kind === "file"
    ? await readPeerFile(options.peers.path)
    : undefined;
  const hlogs = options.hlogDir === undefined ? undefined : await AgentHlogs.start({
    dir: options.hlogDir,
    source: options.nodeId,
    intervalMs: options.hlogIntervalMs,
    maxBytes: options.hlogMaxBytes,
    lateMs: options.timeoutMs + 500,
  });
  const sinks: OutcomeSink[] = hlogs ? [hlogs] : [];

  // serve's own server, limits and all, on one Worker thread of its own:
  // echoing for the peers never waits behind this thread's probes, nor
  // delays them.
  let server: RunningServer;
  try {
    server = await startServer({
      ...DEFAULT_SERVER_OPTIONS,
      host: options.host,
      ports: { echo: options.port, discard: null, chargen: null },
      maxConnections: options.maxConnections,
      threads: 1,
      udp: {
        ...DEFAULT_UDP_ECHO_OPTIONS,
        host: options.host,
        maxPerSec: options.udpRateLimitPerSec,
      },
    });
  } catch (error) {
    await hlogs?.close();
    throw error instanceof RunError ? error : new RunError((error as Error).message);
  }
  const echoPort = server.port("echo");
  const metrics = new AgentMetrics(options.nodeId);
  let metricsServer;
  try {
    metricsServer = serveMetrics(metrics, options.metrics.host, options.metrics.port);
  } catch (error) {
    await server.stop();
    await hlogs?.close();
    throw new RunError((error as Error).message);
  }
  const stopLag = watchEventLoopLag((lagMs) => metrics.observeLagMs(lagMs));

  const tally = new AgentTally();
  const mesh = new Mesh({
    self: {
      nodeId: options.nodeId,
      echoPort,
      addresses: ownAddresses(options.host),
    },
    peersSubset: options.peersSubset,
    probes: options.probes,
    schedule: { intervalMs: options.intervalMs, jitterFraction: options.jitterFraction },
    timeoutMs: options.timeoutMs,
    nonce: crypto.getRandomValues(new Uint32Array(1))[0],
  }, fanOut([tally, metrics, ...sinks]));

  const apply = (peers: Peer[]) => {
    const change = mesh.update(peers);
    for (const peer of change.added) metrics.addPeer(peer.name, options.probes);
    const still = new Set(change.peers.map((peer) => peer.name));
    for (const peer of change.removed.filter((removed) => !still.has(removed.name))) {
      metrics.forgetPeer(peer.name, options.probes, FORGET_PEER_AFTER_MS);
      hlogs?.forgetTarget(peer.name);
    }
    metrics.setPeers(change.peers.length);
    const line = describeChange(change);
    if (line) console.log(line);
  };
  const problem = (line: string) => console.error(`netspeed: ${line}`);

  // Signals are caught before the line that tells a supervisor (or a test)
  // the agent is up: stopping it from then on must close the hlogs cleanly.
  const { promise: stopped, resolve } = Promise.withResolvers<Deno.Signal>();
  const removeListeners = onInterrupt(resolve);
  console.log(
    `agent ${options.nodeId}: echo on ${formatHostPort({ host: options.host, port: echoPort })} ` +
      `(tcp, udp), metrics on http://${
        formatHostPort({ host: options.metrics.host, port: metricsServer.port })
      }/metrics`,
  );
  let source: PeerSource;
  if (options.peers.kind === "file") {
    apply(initial!.peers);
    source = watchPeerFile(options.peers.path, initial!.text, apply, problem);
  } else {
    source = watchPeerDns(options.peers.name, options.peers.port, apply, problem);
  }

  const signal = await stopped;
  removeListeners();
  source.close();
  await mesh.close();
  stopLag();
  // Hlogs are closed first: what was measured is on disk before anything else can fail.
  await hlogs?.close();
  await metricsServer.close();
  await server.stop();
  console.log(`\nStopped by ${signal}.`);
  console.log(formatAgentTally(tally.sorted()));
  if (hlogs) console.log(`Histogram logs in ${hlogs.dir}`);
  return ExitCode.ok;
}

/** One line about a changed peer list, or "" when nothing changed. */
export function describeChange(change: MeshChange): string {
  if (change.added.length === 0 && change.removed.length === 0) return "";
  const names = (peers: Peer[]) => peers.map((p) => p.name).join(", ");
  const parts = [];
  if (change.added.length) parts.push(`+${change.added.length} (${names(change.added)})`);
  if (change.removed.length) parts.push(`-${change.removed.length} (${names(change.removed)})`);
  return `peers: ${parts.join(" ")}; probing ${change.peers.length}`;
}

/** The table printed when the agent stops: its own count of every pair. */
export function formatAgentTally(pairs: PairTally[]): string {
  if (pairs.length === 0) return "No probes were made.";
  return formatTable(
    ["target", "probe", "probes", "failed", "failures by kind", "p50 µs", "p99 µs", "udp lost"],
    pairs.map((pair) => {
      const stats = latencyStats(pair.histogram);
      const failed = Object.values(pair.failures).reduce((a, b) => a + (b ?? 0), 0);
      return [
        pair.target,
        pair.probe,
        formatCount(pair.probes),
        formatCount(failed),
        Object.entries(pair.failures).map(([k, n]) => `${k} ${n}`).join(", ") || "-",
        stats.count ? formatUs(stats.p50Us) : "-",
        stats.count ? formatUs(stats.p99Us) : "-",
        pair.probe === "udp" ? formatCount(pair.failures.lost ?? 0) : "",
      ];
    }),
    ["left", "left", "right", "right", "left", "right", "right", "right"],
  );
}

/** The addresses that mean "this agent": the bind address, or every interface's when it binds all. */
function ownAddresses(host: string): Set<string> {
  const addresses = new Set<string>([normalizeHost(host)]);
  try {
    for (const nic of Deno.networkInterfaces()) addresses.add(normalizeHost(nic.address));
  } catch { /* without --allow-sys the bind address alone identifies the agent */ }
  return addresses;
}
