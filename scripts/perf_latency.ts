/**
 * Latency benchmark (`deno task perf`): netspeed's single-connection p50
 * round-trip time and round trips per second on loopback, against
 * `sockperf ping-pong` (client and server in C) measured in the same run.
 * sockperf prints half the round trip; we double it so both are full RTTs.
 *
 * Also measured, to tell the tool's cost from the runtime's: netspeed's
 * client against a C echo server (socat), and the bare minimum Deno
 * ping-pong loop (no workers, no CSV, no histogram) against the same.
 *
 * Usage: deno task perf [--runs 5] [--seconds 3]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { background, freePort, have, median, NETSPEED, run, waitForPort } from "./perf_common.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" }, seconds: { type: "string", default: "3" } },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);

interface Measure {
  p50Us: number;
  perSec: number;
}

async function netspeedClient(port: number): Promise<Measure> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await run(Deno.execPath(), [
      ...NETSPEED,
      "latency",
      `127.0.0.1:${port}`,
      ...["-d", `${seconds}s`, "--warmup", "1000", "--json", json, "--no-progress"],
    ]);
    if (out.code !== 0) throw new Error(`netspeed latency failed: ${out.stderr}`);
    const summary = JSON.parse(await Deno.readTextFile(json));
    return { p50Us: summary.rtt.p50Us, perSec: summary.roundTripsPerSec };
  } finally {
    await Deno.remove(json);
  }
}

async function sockperf(port: number): Promise<Measure> {
  const out = await run("sockperf", [
    "ping-pong",
    "--tcp",
    ...["-i", "127.0.0.1", "-p", String(port), "-m", "1024", "-t", String(seconds)],
  ]);
  const text = out.stdout + out.stderr;
  const halfP50 = /percentile 50\.000 =\s+([\d.]+)/.exec(text);
  const valid = /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=\d+; ReceivedMessages=(\d+)/
    .exec(text);
  if (!halfP50 || !valid) throw new Error(`Cannot read sockperf's output:\n${text}`);
  return { p50Us: 2 * Number(halfP50[1]), perSec: Number(valid[2]) / Number(valid[1]) };
}

/** The least a Deno client can do per round trip: the runtime's floor. */
const FLOOR = `
const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
conn.setNoDelay(true);
const p = crypto.getRandomValues(new Uint8Array(1024)), r = new Uint8Array(1024);
const t = []; const end = performance.now() + Number(Deno.args[1]) * 1000;
while (performance.now() < end) {
  const t0 = performance.now();
  for (let w = 0; w < 1024;) w += await conn.write(p.subarray(w));
  for (let g = 0; g < 1024;) g += await conn.read(r.subarray(g));
  t.push(performance.now() - t0);
}
t.sort((a, b) => a - b);
console.log(JSON.stringify({ p50Us: t[t.length >> 1] * 1000, perSec: t.length / Number(Deno.args[1]) }));
`;

async function denoFloor(port: number): Promise<Measure> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, FLOOR);
    const out = await run(Deno.execPath(), [
      "run",
      "--allow-net",
      file,
      String(port),
      String(seconds),
    ]);
    return JSON.parse(out.stdout);
  } finally {
    await Deno.remove(file);
  }
}

const results: Record<string, Measure[]> = {};
const add = (name: string, m: Measure) => (results[name] ??= []).push(m);

const hasSockperf = await have("sockperf");
const hasSocat = await have("socat");
if (!hasSockperf) {
  console.log("sockperf is not installed (apt-get install sockperf): no peer to compare with");
}
if (!hasSocat) console.log("socat is not installed: skipping the C echo server");

const ownPort = freePort();
await using _own = background(Deno.execPath(), [
  ...NETSPEED,
  "serve",
  "--port",
  String(ownPort),
  "--no-discard",
  "--no-chargen",
]);
const sockperfPort = freePort();
await using _sockperf = hasSockperf
  ? background("sockperf", ["server", "--tcp", "-i", "127.0.0.1", "-p", String(sockperfPort)])
  : { async [Symbol.asyncDispose]() {} };
const socatPort = freePort();
await using _socat = hasSocat
  ? background("socat", [`TCP-LISTEN:${socatPort},bind=127.0.0.1,reuseaddr,fork,nodelay`, "PIPE"])
  : { async [Symbol.asyncDispose]() {} };
await waitForPort(ownPort);
if (hasSockperf) await new Promise((resolve) => setTimeout(resolve, 500));
if (hasSocat) await waitForPort(socatPort);

console.log(
  `Loopback, 1 connection, 1024-byte payload, ${seconds} s per measurement, ${runs} runs (interleaved)\n`,
);
for (let i = 0; i < runs; i++) {
  if (hasSockperf) add("sockperf client -> sockperf server", await sockperf(sockperfPort));
  add("netspeed client -> netspeed server", await netspeedClient(ownPort));
  if (hasSocat) {
    add("netspeed client -> socat (C) echo", await netspeedClient(socatPort));
    add("bare Deno loop -> socat (C) echo", await denoFloor(socatPort));
  }
  console.log(`run ${i + 1}/${runs} done`);
}

const rows = Object.entries(results).map(([name, ms]) => ({
  name,
  p50Us: median(ms.map((m) => m.p50Us)),
  perSec: median(ms.map((m) => m.perSec)),
}));
console.log("\nmedians of the runs (RTT = full round trip)");
const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${"".padEnd(width)}  ${"p50 RTT µs".padStart(10)}  ${"round trips/s".padStart(13)}`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(width)}  ${r.p50Us.toFixed(1).padStart(10)}  ${
      r.perSec.toFixed(0).padStart(13)
    }`,
  );
}
const get = (name: string) => rows.find((r) => r.name === name);
const peer = get("sockperf client -> sockperf server");
const own = get("netspeed client -> netspeed server");
const socat = get("netspeed client -> socat (C) echo");
const floor = get("bare Deno loop -> socat (C) echo");
console.log("");
if (peer && own) {
  const rttRatio = own.p50Us / peer.p50Us;
  const rateRatio = own.perSec / peer.perSec;
  console.log(
    `p50 RTT, netspeed / sockperf:     ${rttRatio.toFixed(2)}x (target <= 1.10) ${
      rttRatio <= 1.1 ? "met" : "NOT met"
    }`,
  );
  console.log(
    `rate,    netspeed / sockperf:     ${rateRatio.toFixed(2)}x (target >= 0.85) ${
      rateRatio >= 0.85 ? "met" : "NOT met"
    }`,
  );
}
if (socat && floor) {
  console.log(
    `p50 RTT, netspeed / bare Deno:    ${
      (socat.p50Us / floor.p50Us).toFixed(2)
    }x (the tool's own cost over the runtime's)`,
  );
  console.log(`rate,    netspeed / bare Deno:    ${(socat.perSec / floor.perSec).toFixed(2)}x`);
}
