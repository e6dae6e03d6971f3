/**
 * Throughput and connect benchmark (`deno task perf:throughput`):
 * netspeed's throughput on loopback, 1 stream and 4 streams, up and down,
 * against `iperf3` (client and server in C) measured in the same run, and
 * netspeed's connection set-up against a C loop of blocking connect()
 * calls (scripts/connect_baseline.c, built with the C compiler if one is
 * at hand), both against the same C server, which accepts and closes with
 * a large backlog so that neither client is held back by the server.
 *
 * Every figure is the median of `--runs` runs, the tools interleaved so
 * that the machine's other load falls on both alike. Both tools omit the
 * first second (TCP slow start); iperf3's figure is its receiver's.
 *
 * Usage: deno task perf:throughput [--runs 3] [--seconds 3] [--connections 4000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  background,
  buildCProgram,
  freePort,
  have,
  median,
  NETSPEED,
  netspeedSummary,
  onFreshAcceptLoop,
  run,
  waitForPort,
} from "./perf_common.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "4000" },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const OMIT_SECONDS = 1;

type Direction = "up" | "down";

/** Starts `netspeed serve` with every service on a free port, as its own process. */
async function startServe(): Promise<
  AsyncDisposable & { echo: number; discard: number; chargen: number }
> {
  const ports = { echo: freePort(), discard: freePort(), chargen: freePort() };
  const server = background(Deno.execPath(), [
    ...NETSPEED,
    "serve",
    ...["--port", String(ports.echo), "--discard-port", String(ports.discard)],
    ...["--chargen-port", String(ports.chargen)],
  ]);
  await Promise.all(Object.values(ports).map((port) => waitForPort(port)));
  return { ...ports, [Symbol.asyncDispose]: () => server[Symbol.asyncDispose]() };
}

async function netspeedThroughput(
  ports: { discard: number; chargen: number },
  direction: Direction,
  streams: number,
): Promise<number> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await run(Deno.execPath(), [
      ...NETSPEED,
      "throughput",
      "127.0.0.1",
      ...["--direction", direction, "-P", String(streams)],
      ...["--discard-port", String(ports.discard), "--chargen-port", String(ports.chargen)],
      ...["-d", `${seconds}s`, "-O", `${OMIT_SECONDS}s`, "--json", json, "--no-progress"],
    ]);
    if (out.code !== 0) throw new Error(`netspeed throughput failed: ${out.stderr}`);
    return JSON.parse(await Deno.readTextFile(json)).totals[direction].bitsPerSec;
  } finally {
    await Deno.remove(json);
  }
}

async function iperf3(port: number, direction: Direction, streams: number): Promise<number> {
  const out = await run("iperf3", [
    ...["-c", "127.0.0.1", "-p", String(port), "-J"],
    ...["-t", String(seconds), "-O", String(OMIT_SECONDS), "-P", String(streams)],
    ...(direction === "down" ? ["-R"] : []),
  ]);
  if (out.code !== 0) throw new Error(`iperf3 failed: ${out.stdout}${out.stderr}`);
  return JSON.parse(out.stdout).end.sum_received.bits_per_second;
}

interface ConnectMeasure {
  perSec: number;
  p50Us: number;
}

async function netspeedConnect(port: number): Promise<ConnectMeasure> {
  const summary = await netspeedSummary([
    "connect",
    `127.0.0.1:${port}`,
    "-n",
    String(connections),
  ]);
  return { perSec: summary.connectionsPerSec, p50Us: summary.connectTime.p50Us };
}

/** Builds scripts/connect_baseline.c into a temporary folder; undefined without a C compiler. */
function buildConnectBaseline(dir: string): Promise<string | undefined> {
  return buildCProgram("connect_baseline", dir);
}

async function cConnect(binary: string, port: number): Promise<ConnectMeasure> {
  const out = await run(binary, [String(port), String(connections)]);
  if (out.code !== 0) throw new Error(`connect_baseline failed: ${out.stderr}`);
  const result = JSON.parse(out.stdout);
  return { perSec: result.perSec, p50Us: result.p50Us };
}

const hasIperf3 = await have("iperf3");
if (!hasIperf3) {
  console.log("iperf3 is not installed (apt-get install iperf3): no peer to compare with");
}
const tmp = await Deno.makeTempDir({ prefix: "netspeed-perf-" });
try {
  const baseline = await buildConnectBaseline(tmp);
  if (!baseline) console.log("No C compiler (cc, gcc): skipping the C connect baseline");

  await using serve = await startServe();
  const iperfPort = freePort();
  await using _iperf = hasIperf3
    ? background("iperf3", ["-s", "-B", "127.0.0.1", "-p", String(iperfPort)])
    : { async [Symbol.asyncDispose]() {} };
  if (hasIperf3) await waitForPort(iperfPort);

  const cases = [1, 4].flatMap((streams) =>
    (["up", "down"] as const).map((direction) => ({ streams, direction }))
  );

  const tput: Record<string, { netspeed: number[]; iperf3: number[] }> = {};
  const conn: Record<"netspeed" | "netspeedToC" | "c", ConnectMeasure[]> = {
    netspeed: [],
    netspeedToC: [],
    c: [],
  };
  console.log(
    `Loopback, ${seconds} s measured after ${OMIT_SECONDS} s omitted, ${runs} runs (interleaved)\n`,
  );
  for (let i = 0; i < runs; i++) {
    for (const { streams, direction } of cases) {
      const key = `${streams} stream${streams === 1 ? "" : "s"} ${direction}`;
      const entry = tput[key] ??= { netspeed: [], iperf3: [] };
      entry.netspeed.push(await netspeedThroughput(serve, direction, streams));
      if (hasIperf3) entry.iperf3.push(await iperf3(iperfPort, direction, streams));
    }
    conn.netspeed.push(await netspeedConnect(serve.echo));
    if (baseline) {
      conn.netspeedToC.push(await onFreshAcceptLoop(baseline, netspeedConnect));
      conn.c.push(await onFreshAcceptLoop(baseline, (port) => cConnect(baseline, port)));
    }
    console.log(`run ${i + 1}/${runs} done`);
  }

  const gbit = (bps: number) => (bps / 1e9).toFixed(2);
  console.log("\nThroughput, medians (Gbit/s)");
  console.log(`${"".padEnd(16)}  ${"netspeed".padStart(8)}  ${"iperf3".padStart(8)}  ratio`);
  for (const [key, { netspeed, iperf3: peer }] of Object.entries(tput)) {
    const own = median(netspeed);
    const other = median(peer);
    const ratio = own / other;
    const verdict = key.startsWith("1 stream")
      ? ` (target >= 0.90: ${ratio >= 0.9 ? "met" : "NOT met"})`
      : "";
    console.log(
      `${key.padEnd(16)}  ${gbit(own).padStart(8)}  ${
        hasIperf3 ? gbit(other).padStart(8) : "-".padStart(8)
      }  ${hasIperf3 ? ratio.toFixed(2) + "x" + verdict : "-"}`,
    );
  }

  const medians = (ms: ConnectMeasure[]) => ({
    perSec: median(ms.map((m) => m.perSec)),
    p50Us: median(ms.map((m) => m.p50Us)),
  });
  const line = (name: string, m: ConnectMeasure) =>
    console.log(
      `${name.padEnd(36)}  ${m.perSec.toFixed(0).padStart(8)}  ${m.p50Us.toFixed(1).padStart(8)}`,
    );
  console.log(`\nConnection set-up, 1 worker, ${connections} connections, medians`);
  console.log(`${"".padEnd(36)}  ${"conn/s".padStart(8)}  ${"p50 µs".padStart(8)}`);
  line("netspeed connect -> netspeed serve", medians(conn.netspeed));
  if (baseline) {
    const own = medians(conn.netspeedToC);
    const c = medians(conn.c);
    line("netspeed connect -> C accept loop", own);
    line("C connect() loop -> C accept loop", c);
    console.log(
      `ratios netspeed / C (same C server): rate ${(own.perSec / c.perSec).toFixed(2)}x, p50 ${
        (own.p50Us / c.p50Us).toFixed(2)
      }x`,
    );
  }
} finally {
  await Deno.remove(tmp, { recursive: true });
}
