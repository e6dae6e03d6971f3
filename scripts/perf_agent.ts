/**
 * Benchmark: `netspeed agent` against 50 peers at 3 probes per second each
 * (tcp, connect and udp at --interval 1s): the agent's CPU share of one
 * core, its event-loop lag and its resident memory over a long run
 * (default 10 minutes). The peers are 50 echo services (TCP and UDP) in
 * one separate process, so the agent's own process is measured alone.
 *
 * Baseline in the same run: `netspeed latency --rate` (the open-loop
 * pacer) sending the same 150 messages per second to one of the peers.
 * The run alternates windows: the agent alone, then the agent with the
 * baseline running; 5 rounds, medians, and the ratio baseline / agent.
 * CPU time is each process's own (utime + stime from /proc), so the two
 * share the machine but not their figures.
 *
 * Goals from the issue: flat memory, under 5% of one core.
 *
 * Usage: deno task perf:agent [--minutes 10] [--peers 50] [--interval-ms 1000] [--hlog]
 * (run it under `flock /tmp/netspeed-bench.lock` on a shared machine).
 *
 * @module
 */
import { TcpServices } from "../lib/server/tcp_services.ts";
import { UdpEcho } from "../lib/server/udp_echo.ts";
import { median, NETSPEED } from "./perf_common.ts";

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

/** The peer farm: N echo services (TCP and UDP) on free loopback ports; prints the ports. */
async function farm(count: number): Promise<void> {
  const ports: number[] = [];
  const running: { close(): Promise<void> }[] = [];
  while (ports.length < count) {
    const tcp = TcpServices.start({
      host: "127.0.0.1",
      ports: { echo: 0, discard: null, chargen: null },
      maxConnections: 1000,
      idleTimeoutMs: 60_000,
      bufferBytes: 4096,
    });
    const port = tcp.bound[0].port;
    try {
      running.push(
        UdpEcho.start({ host: "127.0.0.1", port, maxDatagramBytes: 2048, maxPerSec: 20_000 }),
      );
      running.push(tcp);
      ports.push(port);
    } catch {
      await tcp.close();
    }
  }
  console.log(JSON.stringify(ports));
  await new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", () => resolve()));
  await Promise.all(running.map((r) => r.close()));
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5), counted after the command name: utime, stime in ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process, bytes. */
function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The agent's event-loop lag histogram, cumulative: bound (s) → count, and sum. */
async function lagHistogram(metricsPort: number) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    const b = /^netspeed_agent_event_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)/.exec(line);
    if (b) buckets.set(b[1] === "+Inf" ? Infinity : Number(b[1]), Number(b[2]));
    const s = /^netspeed_agent_event_loop_lag_seconds_sum (\S+)/.exec(line);
    if (s) sum = Number(s[1]);
    const c = /^netspeed_agent_event_loop_lag_seconds_count (\S+)/.exec(line);
    if (c) count = Number(c[1]);
  }
  const probes = [...text.matchAll(/^netspeed_probes_total\{[^}]*\} (\S+)/gm)]
    .reduce((a, m) => a + Number(m[1]), 0);
  const failures = [...text.matchAll(/^netspeed_probe_failures_total\{[^}]*\} (\S+)/gm)]
    .reduce((a, m) => a + Number(m[1]), 0);
  const heapBytes = Number(/^netspeed_agent_heap_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
  return { buckets, sum, count, probes, failures, heapBytes };
}

/** The upper bound of the bucket holding quantile q of the difference of two cumulative histograms. */
function bucketQuantile(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const bound of bounds) {
    if ((after.get(bound)! - (before.get(bound) ?? 0)) >= q * total) return bound;
  }
  return Infinity;
}

async function main(): Promise<void> {
  if (Deno.args[0] === "--farm") return await farm(Number(Deno.args[1]));
  const minutes = flag("minutes", 10);
  const peerCount = flag("peers", 50);
  // A shorter interval ages the agent faster when looking for memory growth.
  const intervalMs = flag("interval-ms", 1000);
  const probesPerSec = peerCount * 3 * 1000 / intervalMs;
  const rounds = 5;
  const warmUpS = Math.min(60, minutes * 6);
  const baselineS = Math.min(20, minutes * 2);
  const aloneS = (minutes * 60 - warmUpS - rounds * baselineS) / rounds;

  const farmProcess = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(import.meta.url).pathname, "--farm", String(peerCount)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = farmProcess.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ports: number[] = JSON.parse((await reader.read()).value!);
  reader.releaseLock();
  farmProcess.stdout.pipeTo(new WritableStream()).catch(() => {});

  const dir = await Deno.makeTempDir({ prefix: "netspeed-perf-agent-" });
  const peerFile = `${dir}/peers.txt`;
  await Deno.writeTextFile(peerFile, ports.map((p, i) => `peer-${i} 127.0.0.1:${p}\n`).join(""));
  const metricsListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const metricsPort = metricsListener.addr.port;
  metricsListener.close();
  const agent = new Deno.Command(Deno.execPath(), {
    args: [
      ...NETSPEED,
      ...["agent", "--node-id", "bench", "--port", "0", "--peers", peerFile],
      ...["--metrics-listen", `127.0.0.1:${metricsPort}`, "--interval", `${intervalMs}ms`],
      // --hlog: also keep the lossless record, as the DaemonSet does.
      ...(Deno.args.includes("--hlog") ? ["--hlog-dir", `${dir}/hlogs`] : []),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const wait = (s: number) => new Promise((resolve) => setTimeout(resolve, s * 1000));
  const cores = navigator.hardwareConcurrency;
  console.log(
    `netspeed agent${
      Deno.args.includes("--hlog") ? " --hlog-dir" : ""
    }, ${peerCount} peers x 3 probes every ${intervalMs} ms, ${minutes} min (warm-up ${warmUpS} s, ` +
      `${rounds} rounds of ${aloneS.toFixed(0)} s alone + ${baselineS} s with the baseline), ` +
      `${cores} cores, ${new Date().toISOString()}`,
  );
  try {
    await wait(warmUpS);
    const rssStartBytes = rssBytes(agent.pid);
    const rss: number[] = [rssStartBytes];
    const heap: number[] = [(await lagHistogram(metricsPort)).heapBytes];
    const agentShares: number[] = [];
    const baselineShares: number[] = [];
    const lagP99s: number[] = [];
    const lagMeans: number[] = [];
    let probes = 0;
    let failures = 0;
    for (let round = 0; round < rounds; round++) {
      const cpu0 = cpuSeconds(agent.pid);
      const lag0 = await lagHistogram(metricsPort);
      const t0 = performance.now();
      await wait(aloneS);
      const lag1 = await lagHistogram(metricsPort);
      const share = (cpuSeconds(agent.pid) - cpu0) / ((performance.now() - t0) / 1000);
      agentShares.push(share);
      lagP99s.push(bucketQuantile(lag0.buckets, lag1.buckets, 0.99));
      lagMeans.push((lag1.sum - lag0.sum) / Math.max(1, lag1.count - lag0.count));
      probes += lag1.probes - lag0.probes;
      failures += lag1.failures - lag0.failures;
      rss.push(rssBytes(agent.pid));
      heap.push(lag1.heapBytes);

      const baseline = new Deno.Command(Deno.execPath(), {
        args: [
          ...NETSPEED,
          ...["latency", `127.0.0.1:${ports[0]}`, "--rate", `${probesPerSec}/s`],
          ...["-d", `${baselineS}s`, "--no-progress"],
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      // Its start-up (compiling, connecting) is left out: from 2 s in to its last reading.
      await wait(2);
      const b0 = performance.now();
      const cpuStart = cpuSeconds(baseline.pid);
      let cpuEnd = cpuStart;
      let b1 = b0;
      while (true) {
        try {
          cpuEnd = cpuSeconds(baseline.pid);
          b1 = performance.now();
        } catch { /* exited */ }
        const done = await Promise.race([baseline.status.then(() => true), wait(0.5)]);
        if (done) break;
      }
      baselineShares.push((cpuEnd - cpuStart) / Math.max(0.001, (b1 - b0) / 1000));
      console.log(
        `round ${round + 1}: agent ${(share * 100).toFixed(2)}% of a core, lag p99 <= ${
          (lagP99s.at(-1)! * 1000).toFixed(1)
        } ms, RSS ${(rss.at(-1)! / 2 ** 20).toFixed(1)} MiB, heap ${
          (heap.at(-1)! / 2 ** 20).toFixed(1)
        } MiB; open-loop baseline ${(baselineShares.at(-1)! * 100).toFixed(1)}%`,
      );
    }
    const agentShare = median(agentShares);
    const baselineShare = median(baselineShares);
    console.log(
      [
        "",
        `agent CPU, median of ${rounds}: ${(agentShare * 100).toFixed(2)}% of one core ` +
        `(goal < 5%) for ${(probes / (rounds * aloneS)).toFixed(0)} probes/s, ${failures} failed`,
        `open-loop pacer at the same ${probesPerSec} msg/s: ${
          (baselineShare * 100).toFixed(1)
        }% of one core; ratio baseline / agent ${(baselineShare / agentShare).toFixed(1)}x`,
        `event-loop lag: mean ${(median(lagMeans) * 1000).toFixed(2)} ms, p99 bucket <= ${
          (median(lagP99s) * 1000).toFixed(1)
        } ms (medians over rounds)`,
        `RSS after warm-up ${(rssStartBytes / 2 ** 20).toFixed(1)} MiB, at the end ${
          (rss.at(-1)! / 2 ** 20).toFixed(1)
        } MiB: growth ${((rss.at(-1)! - rssStartBytes) / 2 ** 20).toFixed(1)} MiB over ${
          ((rounds * (aloneS + baselineS)) / 60).toFixed(1)
        } min; per round ${rss.map((r) => (r / 2 ** 20).toFixed(1)).join(", ")} MiB`,
      ].join("\n"),
    );
  } finally {
    try {
      agent.kill("SIGTERM");
    } catch { /* gone */ }
    await agent.status;
    try {
      farmProcess.kill("SIGTERM");
    } catch { /* gone */ }
    await farmProcess.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
