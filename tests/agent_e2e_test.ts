/**
 * `netspeed agent` end to end on loopback: real agents probing each other,
 * a peer that answers nothing, a peer list rewritten while they run, and
 * Prometheus's own `promtool` reading the exposition.
 */
import assert from "node:assert/strict";
import { runCli, type RunningCli, spawnCli, tempDir } from "./helpers.ts";
import { freePorts, hasPromtool, parseExposition, promtoolCheck } from "./prometheus.ts";
import { rendezvousSubset } from "../lib/agent/peers.ts";

async function metricsOf(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return await response.text();
}

/** A peer that accepts TCP connections and takes UDP datagrams but never answers. */
function silentPeer(port: number): AsyncDisposable {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of tcp) conns.push(conn);
    } catch { /* closed */ }
  })();
  const draining = (async () => {
    try {
      while (true) await udp.receive();
    } catch { /* closed */ }
  })();
  return {
    async [Symbol.asyncDispose]() {
      tcp.close();
      udp.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* gone */ }
      }
      await accepting;
      await draining;
    },
  };
}

/** Sums a counter over the series whose labels include every one of `labels`. */
function sum(values: Map<string, number>, name: string, labels: string[]): number {
  let total = 0;
  for (const [key, value] of values) {
    if (key.startsWith(`${name}{`) && labels.every((l) => key.includes(l))) total += value;
  }
  return total;
}

Deno.test("agent probes its peers, counts a silent one's failures, follows the peer file and stops cleanly", async () => {
  await using dir = await tempDir();
  const [portA, portB, portSilent, metricsA, metricsB] = freePorts(5);
  const peerFile = `${dir.path}/peers.txt`;
  await Deno.writeTextFile(
    peerFile,
    `a 127.0.0.1:${portA}\nb 127.0.0.1:${portB}\nsilent 127.0.0.1:${portSilent}\n`,
  );
  await using _silent = silentPeer(portSilent);
  const start = (name: string, port: number, metrics: number): RunningCli =>
    spawnCli([
      ...["agent", "--node-id", name, "--port", String(port), "--peers", peerFile],
      ...["--metrics-listen", `127.0.0.1:${metrics}`, "--interval", "100ms", "--timeout", "500ms"],
    ]);
  await using a = start("a", portA, metricsA);
  await using b = start("b", portB, metricsB);
  await a.waitFor(/^peers: \+2 \(b, silent\); probing 2$/);
  await b.waitFor(/^peers: \+2 \(a, silent\); probing 2$/);
  const startedMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 3000));

  const live = parseExposition(await metricsOf(metricsA));
  const elapsedS = (performance.now() - startedMs) / 1000;
  for (const probe of ["tcp", "connect", "udp"]) {
    const ok = live.get(`netspeed_probe_rtt_seconds_count{source="a",target="b",probe="${probe}"}`);
    // 10 probes a second: a silent peer timing out every 500 ms must not hold b's back.
    assert.ok(
      ok !== undefined && ok >= elapsedS * 10 * 0.5,
      `${probe} to b: ${ok} in ${elapsedS}s`,
    );
    const failed = sum(live, "netspeed_probe_failures_total", [
      'target="silent"',
      `probe="${probe}"`,
    ]);
    assert.ok(failed >= 2, `${probe} failures to silent: ${failed}`);
  }
  assert.ok(live.get('netspeed_udp_lost_total{source="a",target="silent"}')! >= 2);
  assert.ok(
    (live.get(
      'netspeed_probe_failures_total{source="a",target="silent",probe="tcp",kind="timeout"}',
    ) ?? 0) >= 1,
  );
  assert.ok(!(await metricsOf(metricsA)).includes('target="a"'), "never probes itself");
  assert.ok(live.get("netspeed_agent_cpu_seconds_total")! > 0);
  assert.ok(live.get("netspeed_agent_event_loop_lag_seconds_count")! > 0);
  assert.equal(live.get("netspeed_agent_peers"), 2);
  if (hasPromtool()) {
    const check = await promtoolCheck(await metricsOf(metricsA));
    assert.ok(check.ok, check.output);
  }

  // A peer file that turns bad keeps the last good list and says so once.
  await Deno.writeTextFile(peerFile, `a 127.0.0.1:${portA}\nb 127.0.0.1:${portB}\nbroken\n`);
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(parseExposition(await metricsOf(metricsA)).get("netspeed_agent_peers"), 2);

  // An empty list stops the probing, so the counters settle before the stop.
  await Deno.writeTextFile(peerFile, "# nobody\n");
  await a.waitFor(/^peers: -2 \(b, silent\); probing 0$/);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const settled = parseExposition(await metricsOf(metricsA));
  const result = await a.stop("SIGTERM");
  assert.equal(result.code, 0, result.stderr);
  const problems = result.stderr.trim().split("\n");
  assert.equal(problems.length, 1, result.stderr);
  assert.match(problems[0], /line 3 "broken": expected NAME HOST:PORT; keeping the last good list/);

  // The agent's own table agrees with what it served.
  const table = result.stdout.split("\n").filter((line) =>
    /^(b|silent)\s+(tcp|connect|udp)\s/.test(line)
  );
  assert.equal(table.length, 6, result.stdout);
  for (const line of table) {
    const [target, probe, probes, failed] = line.split(/\s{2,}|\s(?=\S)/).filter(Boolean);
    const labels = `source="a",target="${target}",probe="${probe}"`;
    assert.equal(
      Number(probes.replace(/,/g, "")),
      settled.get(`netspeed_probes_total{${labels}}`),
      line,
    );
    assert.equal(
      Number(failed.replace(/,/g, "")),
      sum(settled, "netspeed_probe_failures_total", [`target="${target}"`, `probe="${probe}"`]),
      line,
    );
  }
  assert.equal((await b.stop()).code, 0);
});

Deno.test("agent --peers-dns probes every address of the name", async () => {
  const [portA, portB, metricsA] = freePorts(3);
  await using peer = spawnCli([
    ...["agent", "--node-id", "peer", "--port", String(portB), "--peers-dns", `localhost:${portA}`],
    ...["--metrics-listen", "127.0.0.1:0", "--probes", "tcp"],
  ]);
  await using a = spawnCli([
    ...["agent", "--node-id", "a", "--port", String(portA), "--peers-dns", `localhost:${portB}`],
    ...["--metrics-listen", `127.0.0.1:${metricsA}`, "--interval", "100ms"],
  ]);
  await a.waitFor(/^peers: \+\d+ \(.*127\.0\.0\.1.*\); probing \d+$/);
  await peer.waitFor(/^agent peer: /);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const values = parseExposition(await metricsOf(metricsA));
  assert.ok(
    values.get('netspeed_probe_rtt_seconds_count{source="a",target="127.0.0.1",probe="tcp"}')! > 0,
  );
});

Deno.test("agent rejects bad input with one line and starts nothing", async () => {
  await using dir = await tempDir();
  const bad = `${dir.path}/bad.txt`;
  await Deno.writeTextFile(bad, "a 127.0.0.1:7007\nb 127.0.0.1\n");
  const cases: [string[], number, RegExp][] = [
    [
      ["--peers", bad],
      1,
      /^netspeed: Invalid peer list ".*bad\.txt" line 2 "b 127\.0\.0\.1": expected HOST:PORT$/,
    ],
    [
      ["--peers", `${dir.path}/missing.txt`],
      1,
      /^netspeed: Cannot read peer list ".*missing\.txt": /,
    ],
    [
      ["--peers", bad, "--interval", "0"],
      2,
      /^netspeed: Invalid --interval "0": must be more than zero/,
    ],
  ];
  for (const [args, code, message] of cases) {
    const result = await runCli(["agent", "--port", "0", ...args]);
    assert.equal(result.code, code, result.stderr);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    assert.match(result.stderr.trim(), message);
  }
  const good = `${dir.path}/good.txt`;
  await Deno.writeTextFile(good, "");
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const result = await runCli([
      ...["agent", "--port", "0", "--peers", good],
      ...["--metrics-listen", `127.0.0.1:${taken.addr.port}`],
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.trim(),
      new RegExp(`^netspeed: Cannot listen on "127\\.0\\.0\\.1:${taken.addr.port}" for metrics: `),
    );
  } finally {
    taken.close();
  }
});

Deno.test("agent --peers-subset probes the K peers rendezvous hashing picks, never itself", async () => {
  await using dir = await tempDir();
  const ports = freePorts(7);
  const peerFile = `${dir.path}/peers.txt`;
  const names = ["self", "p1", "p2", "p3", "p4", "p5"];
  await Deno.writeTextFile(
    peerFile,
    names.map((name, i) => `${name} 127.0.0.1:${ports[i]}\n`).join(""),
  );
  await using agent = spawnCli([
    ...["agent", "--node-id", "self", "--port", String(ports[0]), "--peers", peerFile],
    ...["--peers-subset", "2", "--metrics-listen", `127.0.0.1:${ports[6]}`, "--probes", "udp"],
  ]);
  const expected = rendezvousSubset(
    names.slice(1).map((name, i) => ({ name, host: "127.0.0.1", port: ports[i + 1] })),
    "self",
    2,
  ).map((p) => p.name).sort();
  await agent.waitFor(new RegExp(`^peers: \\+2 \\(${expected.join(", ")}\\); probing 2$`));
});
