/**
 * The agent's Prometheus metrics, written with prom-client: per pair and
 * probe kind the RTT histogram and the probe, failure and UDP counters,
 * and the agent's own health (CPU seconds, memory, event-loop lag), so a
 * prober starved of CPU shows up instead of passing its own delay off as
 * the network's. Names follow Prometheus's conventions: base units in the
 * name, counters ending in `_total`, dimensions as labels.
 *
 * @module
 */
import process from "node:process";
import client from "prom-client";
import { logBucketsSeconds } from "./buckets.ts";
import type { OutcomeSink, ProbeOutcome, UdpEvent } from "./outcome.ts";

/** Bounds of the event-loop lag histogram, seconds: 100 µs to 10 s, 4 per decade. */
const LAG_BUCKETS_S = logBucketsSeconds(100e-6, 10, 4);

/** The agent's metrics registry; feed it outcomes, read it with {@linkcode AgentMetrics.exposition}. */
export class AgentMetrics implements OutcomeSink {
  readonly registry = new client.Registry();
  readonly source: string;
  #rtt: client.Histogram<"source" | "target" | "probe">;
  #probes: client.Counter<"source" | "target" | "probe">;
  #failures: client.Counter<"source" | "target" | "probe" | "kind">;
  #udp: Record<"lost" | UdpEvent, client.Counter<"source" | "target">>;
  #lag: client.Histogram;
  #peers: client.Gauge;
  /** Failure kinds seen per target and probe, to remove their series later. */
  #kinds = new Map<string, Set<string>>();
  #forgetting = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(source: string) {
    this.source = source;
    const registers = [this.registry];
    this.#rtt = new client.Histogram({
      name: "netspeed_probe_rtt_seconds",
      help: "Round-trip time of successful probes (for connect: the connection set-up time)",
      labelNames: ["source", "target", "probe"],
      buckets: logBucketsSeconds(),
      registers,
    });
    this.#probes = new client.Counter({
      name: "netspeed_probes_total",
      help: "Probes finished, successful or not",
      labelNames: ["source", "target", "probe"],
      registers,
    });
    this.#failures = new client.Counter({
      name: "netspeed_probe_failures_total",
      help: "Probes that gave no round trip, by kind of failure",
      labelNames: ["source", "target", "probe", "kind"],
      registers,
    });
    const udpCounter = (name: string, help: string) =>
      new client.Counter({ name, help, labelNames: ["source", "target"], registers });
    this.#udp = {
      lost: udpCounter(
        "netspeed_udp_lost_total",
        "UDP probes not echoed within the time limit",
      ),
      duplicate: udpCounter(
        "netspeed_udp_duplicates_total",
        "UDP echoes of a probe already echoed",
      ),
      reordered: udpCounter(
        "netspeed_udp_reordered_total",
        "UDP echoes older than one already received",
      ),
      late: udpCounter(
        "netspeed_udp_late_total",
        "UDP echoes after the time limit (already counted lost)",
      ),
    };
    this.#lag = new client.Histogram({
      name: "netspeed_agent_event_loop_lag_seconds",
      help: "How late the agent's timers fire: a starved prober's RTTs include this",
      buckets: LAG_BUCKETS_S,
      registers,
    });
    this.#peers = new client.Gauge({
      name: "netspeed_agent_peers",
      help: "Peers probed now",
      registers,
    });
    let lastCpuUs = 0;
    new client.Counter({
      name: "netspeed_agent_cpu_seconds_total",
      help: "CPU time the agent used, user and system",
      registers,
      collect() {
        const { user, system } = process.cpuUsage();
        const nowUs = user + system;
        if (nowUs > lastCpuUs) this.inc((nowUs - lastCpuUs) / 1e6);
        lastCpuUs = nowUs;
      },
    });
    new client.Gauge({
      name: "netspeed_agent_resident_memory_bytes",
      help: "Resident memory of the agent process",
      registers,
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
    new client.Gauge({
      name: "netspeed_agent_heap_used_bytes",
      help: "JavaScript heap in use by the agent (RSS may keep pages the heap has freed)",
      registers,
      collect() {
        this.set(Deno.memoryUsage().heapUsed);
      },
    });
  }

  record(outcome: ProbeOutcome): void {
    const labels = { source: this.source, target: outcome.target, probe: outcome.probe };
    this.#probes.inc(labels);
    if (outcome.failure !== undefined) {
      this.#failures.inc({ ...labels, kind: outcome.failure });
      const key = `${outcome.target}\u0000${outcome.probe}`;
      let kinds = this.#kinds.get(key);
      if (!kinds) this.#kinds.set(key, kinds = new Set());
      kinds.add(outcome.failure);
      if (outcome.failure === "lost") {
        this.#udp.lost.inc({ source: this.source, target: outcome.target });
      }
    } else {
      this.#rtt.observe(labels, outcome.rttUs / 1e6);
    }
  }

  recordUdpEvent(target: string, event: UdpEvent): void {
    this.#udp[event].inc({ source: this.source, target });
  }

  /** Creates the series of a new peer at zero, so a rate() over them starts at once. */
  addPeer(target: string, probes: readonly string[]): void {
    clearTimeout(this.#forgetting.get(target));
    this.#forgetting.delete(target);
    for (const probe of probes) {
      const labels = { source: this.source, target, probe };
      this.#probes.inc(labels, 0);
      if (probe === "udp") this.#udp.lost.inc({ source: this.source, target }, 0);
    }
  }

  /**
   * Removes a peer's series `afterMs` after it left the peer list (unless it
   * comes back): long enough for Prometheus to scrape its last counts, and
   * a fleet whose pods come and go does not grow the exposition forever.
   */
  forgetPeer(target: string, probes: readonly string[], afterMs: number): void {
    clearTimeout(this.#forgetting.get(target));
    const timer = setTimeout(() => {
      this.#forgetting.delete(target);
      for (const probe of probes) {
        const labels = { source: this.source, target, probe };
        this.#rtt.remove(labels);
        this.#probes.remove(labels);
        for (const kind of this.#kinds.get(`${target}\u0000${probe}`) ?? []) {
          this.#failures.remove({ ...labels, kind });
        }
        this.#kinds.delete(`${target}\u0000${probe}`);
      }
      for (const counter of Object.values(this.#udp)) {
        counter.remove({ source: this.source, target });
      }
    }, afterMs);
    // A pending removal must not keep a stopping agent alive.
    Deno.unrefTimer(timer);
    this.#forgetting.set(target, timer);
  }

  /** Records one measurement of how late a timer fired, ms. */
  observeLagMs(lagMs: number): void {
    this.#lag.observe(Math.max(0, lagMs) / 1000);
  }

  /** Sets the number of peers probed now. */
  setPeers(count: number): void {
    this.#peers.set(count);
  }

  /** The text exposition format Prometheus scrapes. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content-Type of {@linkcode AgentMetrics.exposition}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Measures event-loop lag: a timer every `everyMs`, and how much later than asked it fires. */
export function watchEventLoopLag(onLagMs: (lagMs: number) => void, everyMs = 100): () => void {
  let expected = performance.now() + everyMs;
  const timer = setInterval(() => {
    const now = performance.now();
    onLagMs(now - expected);
    expected = now + everyMs;
  }, everyMs);
  return () => clearInterval(timer);
}

/** The `/metrics` endpoint; anything else is 404. */
export interface MetricsServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` on `host:port`, or throws a one-line message if it cannot bind. */
export function serveMetrics(metrics: AgentMetrics, host: string, port: number): MetricsServer {
  const controller = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: host, port, signal: controller.signal, onListen: () => {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        if (path !== "/metrics") {
          return new Response("netspeed agent: see /metrics\n", { status: 404 });
        }
        return new Response(await metrics.exposition(), {
          headers: { "content-type": metrics.contentType },
        });
      },
    );
  } catch (error) {
    throw new Error(
      `Cannot listen on "${host}:${port}" for metrics: ${(error as Error).message}`,
    );
  }
  return {
    host,
    port: server.addr.port,
    close: async () => {
      controller.abort();
      await server.finished;
    },
  };
}
