/**
 * Ground truth for `netspeed agent` with a real Prometheus: four network
 * namespaces on a bridge (the bridge lives in a fifth, "hub", namespace;
 * addresses 10.77.0.0/24 exist only inside them), an agent in each with a
 * peer file, and node n3's link shaped with `tc … tbf` and loaded by a TCP
 * upload, so the six pairs that cross it queue (and drop). Prometheus
 * (Debian's package) runs in the hub namespace, where it reaches every
 * agent's `--metrics-listen` on the bridge, and scrapes them for about
 * 30 s; the test then asks its HTTP API through `promtool query`, run in
 * the same namespace:
 *
 * - each of the 12 pairs has series;
 * - `histogram_quantile(0.99, …)` of the shaped pairs is above every
 *   unshaped pair's, and within 20% of the p99 of the agents' own hlogs
 *   over the same samples (probing is stopped by emptying the peer files,
 *   so the last scrape holds the whole run, as the hlogs do);
 * - the failure and loss counters equal the agents' own tables;
 * - `promtool check metrics` passes on each agent's exposition.
 *
 * Needs root, `ip`, `tc` and prometheus/promtool; skips with a plain
 * message otherwise. Every namespace is removed, also on failure.
 */
import assert from "node:assert/strict";
import { ROOT_DIR, RUN_FLAGS, tempDir } from "./helpers.ts";
import { promtoolCheck } from "./prometheus.ts";
import { readHlog } from "../lib/hlog/mod.ts";
import { latencyStats, mergeHistograms } from "../lib/histogram.ts";
import { writeMeshReport } from "../lib/commands/report.ts";
import { loadMeshDir } from "../lib/report/mesh_data.ts";

const PREFIX = `nsmesh-${Deno.pid}-${Math.floor(Math.random() * 1e4)}`;
const HUB = `${PREFIX}-hub`;
const NODES = [0, 1, 2, 3].map((i) => ({
  name: `n${i}`,
  ns: `${PREFIX}-${i}`,
  address: `10.77.0.${i + 1}`,
}));
const SHAPED = "n3";
const ECHO_PORT = 7007;
const METRICS_PORT = 9108;
const PROMETHEUS = "127.0.0.1:9090";

function sh(cmd: string, args: string[]): { ok: boolean; stdout: string; stderr: string } {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })
      .outputSync();
    const d = new TextDecoder();
    return { ok: out.success, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr).trim() };
  } catch (error) {
    return { ok: false, stdout: "", stderr: (error as Error).message };
  }
}

function whySkip(): string | null {
  if (Deno.build.os !== "linux") return "network namespaces are Linux only";
  if (Deno.uid() !== 0) return "not root";
  for (const tool of ["prometheus", "promtool", "tc", "ip"]) {
    if (!sh("sh", ["-c", `command -v ${tool}`]).ok) return `${tool} is not installed`;
  }
  return null;
}

function removeAll(): void {
  for (const ns of [...NODES.map((n) => n.ns), HUB]) sh("ip", ["netns", "del", ns]);
}

/** The hub with its bridge, and each node on it through a veth pair; returns what failed. */
function buildMesh(): string | null {
  const steps: string[][] = [
    ["netns", "add", HUB],
    ["-n", HUB, "link", "set", "lo", "up"],
    ["-n", HUB, "link", "add", "br0", "type", "bridge"],
    ["-n", HUB, "link", "set", "br0", "up"],
    ["-n", HUB, "addr", "add", "10.77.0.254/24", "dev", "br0"],
  ];
  NODES.forEach((node, i) => {
    steps.push(
      ["netns", "add", node.ns],
      ["-n", node.ns, "link", "set", "lo", "up"],
      ["-n", HUB, "link", "add", `v${i}`, "type", "veth", "peer", "name", "eth0", "netns", node.ns],
      ["-n", HUB, "link", "set", `v${i}`, "master", "br0"],
      ["-n", HUB, "link", "set", `v${i}`, "up"],
      ["-n", node.ns, "addr", "add", `${node.address}/24`, "dev", "eth0"],
      ["-n", node.ns, "link", "set", "eth0", "up"],
    );
  });
  for (const args of steps) {
    const out = sh("ip", args);
    if (!out.ok) return `ip ${args.join(" ")}: ${out.stderr}`;
  }
  // n3's uplink: 4 Mbit/s with at most 40 ms of queue; the upload below keeps it full.
  const shaped = NODES.find((n) => n.name === SHAPED)!;
  const tc = sh("ip", [
    ...["netns", "exec", shaped.ns, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf"],
    ...["rate", "4mbit", "burst", "8kb", "latency", "40ms"],
  ]);
  return tc.ok ? null : `tc: ${tc.stderr}`;
}

function spawnIn(ns: string, cmd: string[], stdout: "piped" | "null" = "piped"): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...cmd],
    cwd: ROOT_DIR,
    stdout,
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
}

function netspeed(...args: string[]): string[] {
  return [Deno.execPath(), ...RUN_FLAGS, "main.ts", ...args];
}

/** Reads a child's stdout into lines as they come. */
function collect(child: Deno.ChildProcess): { lines: string[]; done: Promise<void> } {
  const lines: string[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  return { lines, done };
}

async function until(what: string, test: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

function query(expr: string): Sample[] {
  const out = sh("ip", [
    ...["netns", "exec", HUB, "promtool", "query", "instant", "-o", "json"],
    ...[`http://${PROMETHEUS}`, expr],
  ]);
  assert.ok(out.ok, `promtool query ${expr}: ${out.stderr}`);
  return JSON.parse(out.stdout) as Sample[];
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SKIP = whySkip();
if (SKIP) console.log(`agent_mesh_netns_test: SKIPPED (${SKIP})`);

Deno.test({
  name:
    "agents in four namespaces: Prometheus sees 12 pairs, the shaped ones slower, counters equal",
  ignore: SKIP !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir();
    const children: Deno.ChildProcess[] = [];
    const stop = (child: Deno.ChildProcess, signal: Deno.Signal = "SIGKILL") => {
      try {
        child.kill(signal);
      } catch { /* gone */ }
    };
    try {
      const failed = buildMesh();
      assert.equal(failed, null, failed ?? "");
      const peerList = NODES.map((n) => `${n.name} ${n.address}:${ECHO_PORT}`).join("\n") + "\n";
      const agents = NODES.map((node) => {
        const peers = `${dir.path}/peers-${node.name}.txt`;
        Deno.writeTextFileSync(peers, peerList);
        const child = spawnIn(
          node.ns,
          netspeed(
            ...["agent", "--node-id", node.name, "--host", node.address],
            ...["--port", String(ECHO_PORT), "--peers", peers],
            ...["--metrics-listen", `${node.address}:${METRICS_PORT}`],
            ...["--interval", "100ms", "--timeout", "1s"],
            ...["--hlog-dir", `${dir.path}/hlogs`, "--hlog-interval", "5s"],
          ),
        );
        children.push(child);
        return { node, peers, child, out: collect(child) };
      });
      for (const agent of agents) {
        await until(
          `${agent.node.name} to start`,
          () => agent.out.lines.some((l) => /^peers: \+3 .*probing 3$/.test(l)),
        );
      }

      // The load on the shaped link: an upload from n3 to n0's discard service.
      const sink = spawnIn(
        NODES[0].ns,
        netspeed(
          ...["serve", "--host", NODES[0].address, "--no-echo", "--no-chargen"],
          ...["--discard-port", "7009"],
        ),
        "null",
      );
      children.push(sink);
      await wait(1500);
      const load = spawnIn(
        NODES[3].ns,
        netspeed(
          ...["throughput", NODES[0].address, "--discard-port", "7009"],
          ...["-d", "60s", "--no-progress"],
        ),
        "null",
      );
      children.push(load);

      const config = `${dir.path}/prometheus.yml`;
      Deno.writeTextFileSync(
        config,
        [
          "global:",
          "  scrape_interval: 2s",
          "  scrape_timeout: 2s",
          "scrape_configs:",
          "  - job_name: netspeed-agent",
          "    static_configs:",
          "      - targets:",
          ...NODES.map((n) => `          - ${n.address}:${METRICS_PORT}`),
          "",
        ].join("\n"),
      );
      const prometheus = spawnIn(HUB, [
        "prometheus",
        `--config.file=${config}`,
        `--storage.tsdb.path=${dir.path}/tsdb`,
        `--web.listen-address=${PROMETHEUS}`,
      ], "null");
      children.push(prometheus);
      await until("Prometheus to scrape every agent", () => {
        const out = sh("ip", [
          ...["netns", "exec", HUB, "promtool", "query", "instant", "-o", "json"],
          ...[`http://${PROMETHEUS}`, "count(up == 1)"],
        ]);
        return out.ok && JSON.parse(out.stdout)[0]?.value[1] === "4";
      });
      await wait(30_000);

      // Stop probing (an empty peer list), let the last UDP probes settle and be scraped.
      for (const agent of agents) Deno.writeTextFileSync(agent.peers, "# stopped\n");
      for (const agent of agents) {
        await until(
          `${agent.node.name} to stop probing`,
          () => agent.out.lines.some((l) => /^peers: -3 .*probing 0$/.test(l)),
        );
      }
      await wait(1000 + 500 + 3 * 2000);

      // promtool on each agent's exposition, fetched from the hub like Prometheus does.
      for (const node of NODES) {
        const out = sh("ip", [
          ...["netns", "exec", HUB, "curl", "-sf"],
          `http://${node.address}:${METRICS_PORT}/metrics`,
        ]);
        assert.ok(out.ok, out.stderr);
        const check = await promtoolCheck(out.stdout);
        assert.ok(check.ok, `${node.name}: ${check.output}`);
      }

      // Every query reads each series' last real sample of the past 20 s
      // (probing stopped 7.5 s ago): one scrape that timed out on a busy
      // machine marks all of an agent's series stale, and an instant query
      // would then see none of them, though nothing was lost (CI saw this).
      const last = (metric: string) => `last_over_time(${metric}[20s])`;
      const pairs = query(`count by (source, target) (${last("netspeed_probes_total")})`);
      assert.equal(pairs.length, 12, JSON.stringify(pairs.map((p) => p.metric)));

      const p99s = query(
        `histogram_quantile(0.99, sum by (source, target, le) (${
          last('netspeed_probe_rtt_seconds_bucket{probe="tcp"}')
        }))`,
      );
      assert.equal(p99s.length, 12);
      const promP99Us = new Map(
        p99s.map((s) => [`${s.metric.source}/${s.metric.target}`, Number(s.value[1]) * 1e6]),
      );

      // Counters are read while the agents still serve them (a stopped target's series go stale).
      const failures = query(
        `sum by (source, target, probe) (${last("netspeed_probe_failures_total")})`,
      );
      const lost = query(last("netspeed_udp_lost_total"));
      const probes = query(last("netspeed_probes_total"));

      // The agents stop; their tables and hlogs are their own account.
      const tables = new Map<string, string>();
      for (const agent of agents) {
        stop(agent.child, "SIGTERM");
        const status = await agent.child.status;
        await agent.out.done;
        assert.equal(status.code, 0, await new Response(agent.child.stderr).text());
        tables.set(agent.node.name, agent.out.lines.join("\n"));
      }

      const report: string[] = ["pair      prometheus p99 µs  hlog p99 µs  ratio  samples"];
      for (const source of NODES) {
        for (const target of NODES) {
          if (source === target) continue;
          const logDir = `${dir.path}/hlogs/${source.name}`;
          const histograms = [];
          for (const entry of Deno.readDirSync(logDir)) {
            if (!entry.name.startsWith(`${target.name}_tcp_`)) continue;
            const log = await readHlog(`${logDir}/${entry.name}`);
            histograms.push(...log.intervals.map((i) => i.histogram));
          }
          const stats = latencyStats(mergeHistograms(histograms));
          const key = `${source.name}/${target.name}`;
          const prom = promP99Us.get(key)!;
          const ratio = prom / stats.p99Us;
          report.push(
            `${key.padEnd(9)} ${prom.toFixed(0).padStart(18)} ${
              stats.p99Us.toFixed(0).padStart(12)
            } ${ratio.toFixed(3).padStart(6)} ${String(stats.count).padStart(8)}`,
          );
          assert.ok(stats.count > 200, `${key}: ${stats.count} samples`);
          assert.ok(
            Math.abs(ratio - 1) <= 0.2,
            `${key}: Prometheus ${prom} µs, hlog ${stats.p99Us} µs`,
          );
        }
      }
      console.log(report.join("\n"));
      const shaped = [...promP99Us].filter(([k]) => k.split("/").includes(SHAPED));
      const others = [...promP99Us].filter(([k]) => !k.split("/").includes(SHAPED));
      assert.equal(shaped.length, 6);
      assert.ok(
        Math.min(...shaped.map(([, v]) => v)) > Math.max(...others.map(([, v]) => v)),
        `shaped ${JSON.stringify(shaped)} vs others ${JSON.stringify(others)}`,
      );

      // Failure and loss counters: Prometheus's last values equal each agent's own table.
      const fromProm = (samples: Sample[], s: string, t: string, p?: string) =>
        Number(
          samples.find((x) =>
            x.metric.source === s && x.metric.target === t && (!p || x.metric.probe === p)
          )?.value[1] ?? 0,
        );
      const lossLines = ["pair      udp sent  lost (prometheus = agent)  failures tcp/connect"];
      for (const [source, table] of tables) {
        for (const m of table.matchAll(/^(n\d)\s+(tcp|connect|udp)\s+([\d,]+)\s+([\d,]+)\s/gm)) {
          const [, target, probe, probesText, failedText] = m;
          const n = (text: string) => Number(text.replace(/,/g, ""));
          assert.equal(fromProm(probes, source, target, probe), n(probesText), m[0]);
          assert.equal(fromProm(failures, source, target, probe), n(failedText), m[0]);
          if (probe === "udp") {
            assert.equal(fromProm(lost, source, target), n(failedText), m[0]);
            lossLines.push(
              `${source}/${target}  ${probesText.padStart(8)}  ${failedText.padStart(4)}  ${
                fromProm(failures, source, target, "tcp")
              }/${fromProm(failures, source, target, "connect")}`,
            );
          }
        }
      }
      assert.equal(lossLines.length, 13, [...tables.values()].join("\n"));
      console.log(lossLines.join("\n"));

      // The mesh report of the same hlogs: 12 pairs, n3's the slowest (kept for a human to see).
      await Deno.mkdir(`${ROOT_DIR}test-artifacts`, { recursive: true });
      const mesh = await writeMeshReport(
        [`${dir.path}/hlogs`],
        `${ROOT_DIR}test-artifacts/mesh-netns.html`,
        "netspeed mesh: four namespaces, n3 behind tbf",
      );
      assert.equal(mesh.pairs, 12);
      const data = await loadMeshDir(`${dir.path}/hlogs`);
      const slowest = data.pairs.filter((p) => p.probe === "tcp")
        .sort((a, b) => b.p99Us! - a.p99Us!).slice(0, 6);
      assert.ok(slowest.every((p) => p.source === SHAPED || p.target === SHAPED));
    } finally {
      for (const child of children) stop(child);
      await Promise.allSettled(children.map(async (child) => {
        await child.status;
        await child.stderr.cancel().catch(() => {});
        try {
          await child.stdout.cancel().catch(() => {});
        } catch { /* stdout was not piped */ }
      }));
      removeAll();
    }
  },
});
