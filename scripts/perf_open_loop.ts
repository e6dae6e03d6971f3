/**
 * Open-loop benchmark (`deno task perf:open-loop`): the highest fixed rate
 * netspeed sustains on this machine's loopback (achieved/asked ≥ 0.99, no
 * failed message), found by doubling then bisecting, each step a short
 * run; then, at that rate and in the same run, netspeed and
 * `sockperf under-load --tcp -m 1024` (client and server in C) side by
 * side, several interleaved runs, medians printed.
 *
 * sockperf under-load answers one message in 100 by default; here it is
 * asked to answer every one (`--reply-every 1`) and to print full round
 * trips (`--full-rtt`), so both tools do the same work. sockperf times
 * each message from its actual send: compare its figures with netspeed's
 * uncorrected ones (netspeed's corrected figures also charge the client's
 * own lateness to the message).
 *
 * The highest rate is a sending figure: past about 100 000/s the loopback
 * and both servers are saturated and round trips grow to milliseconds, so
 * the script also compares the two at `--compare-rate` (20 000/s by
 * default), where neither is saturated, and there adds netspeed's client
 * against a C echo (socat) and the bare minimum Deno open loop against the
 * same, which tells the tool's own cost from the runtime's.
 *
 * Usage: deno task perf:open-loop [--runs 3] [--step-seconds 2] [--seconds 3] [--start 2000]
 *        [--compare-rate 20000]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { background, freePort, have, median, NETSPEED, run, waitForPort } from "./perf_common.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    "step-seconds": { type: "string", default: "2" },
    seconds: { type: "string", default: "3" },
    start: { type: "string", default: "2000" },
    "compare-rate": { type: "string", default: "20000" },
  },
});
const runs = Number(values.runs);
const stepSeconds = Number(values["step-seconds"]);
const seconds = Number(values.seconds);
const startRate = Number(values.start);
const compareRate = Number(values["compare-rate"]);
/** The search stops doubling here: beyond any loopback this tool will see. */
const MAX_RATE = 1_000_000;
/** Bisection stops when the bracket is this narrow (hi / lo). */
const BRACKET = 1.05;
const MAX_BISECTIONS = 5;

interface Measure {
  ratePerSec: number;
  achievedPerSec: number;
  answeredPerSec: number;
  ratio: number;
  failed: number;
  p50Us: number;
  p99Us: number;
  p50UncorrectedUs: number;
  p99UncorrectedUs: number;
}

/** One open-loop run of netspeed at `ratePerSec`, read back from its JSON summary. */
async function netspeedAt(port: number, ratePerSec: number, runSeconds: number): Promise<Measure> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await run(Deno.execPath(), [
      ...NETSPEED,
      "latency",
      `127.0.0.1:${port}`,
      ...["--rate", `${ratePerSec}/s`, "-d", `${runSeconds}s`, "--warmup", "100"],
      ...["--json", json, "--no-progress"],
    ], (runSeconds * 2 + 30) * 1000);
    if (out.code !== 0 && out.code !== 1) throw new Error(`netspeed latency failed: ${out.stderr}`);
    const s = JSON.parse(await Deno.readTextFile(json));
    return {
      ratePerSec,
      achievedPerSec: s.rate.achievedPerSec,
      answeredPerSec: s.rate.answeredPerSec,
      ratio: s.rate.ratio,
      failed: s.failed + s.messages.unsent,
      p50Us: s.rtt.p50Us,
      p99Us: s.rtt.p99Us,
      p50UncorrectedUs: s.rttUncorrected.p50Us,
      p99UncorrectedUs: s.rttUncorrected.p99Us,
    };
  } finally {
    await Deno.remove(json).catch(() => {});
  }
}

/** One sockperf under-load run at `ratePerSec`, every message answered, full RTTs. */
async function sockperfAt(port: number, ratePerSec: number): Promise<Measure> {
  const out = await run("sockperf", [
    "under-load",
    "--tcp",
    ...["-i", "127.0.0.1", "-p", String(port), "-m", "1024", `--mps=${Math.round(ratePerSec)}`],
    ...["-t", String(seconds), "--reply-every", "1", "--full-rtt"],
  ], (seconds + 30) * 1000);
  const text = out.stdout + out.stderr;
  const valid =
    /\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/
      .exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`percentile ${p} =\\s+([\\d.]+)`).exec(text);
    return m ? Number(m[1]) : NaN;
  };
  if (!valid) throw new Error(`Cannot read sockperf's output:\n${text}`);
  const runTime = Number(valid[1]);
  const achieved = Number(valid[2]) / runTime;
  return {
    ratePerSec,
    achievedPerSec: achieved,
    answeredPerSec: Number(valid[3]) / runTime,
    ratio: achieved / ratePerSec,
    failed: Number(valid[2]) - Number(valid[3]),
    p50Us: NaN,
    p99Us: NaN,
    p50UncorrectedUs: pct("50.000"),
    p99UncorrectedUs: pct("99.000"),
  };
}

const sustained = (m: Measure) => m.ratio >= 0.99 && m.failed === 0;
const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : "-");
const line = (m: Measure) =>
  `asked ${fmt(m.ratePerSec)}/s  achieved ${fmt(m.achievedPerSec)}/s (${
    fmt(m.ratio * 100, 2)
  }%)  answered ${fmt(m.answeredPerSec)}/s  failed ${m.failed}  p50 ${fmt(m.p50Us, 1)} µs  p99 ${
    fmt(m.p99Us, 1)
  } µs  (uncorrected p50 ${fmt(m.p50UncorrectedUs, 1)}, p99 ${fmt(m.p99UncorrectedUs, 1)})`;

/**
 * The least a Deno client can do at a fixed rate: one connection, the same
 * pacing (timer, then setImmediate), one write per message, a reader that
 * counts bytes; no workers, framing, histogram or CSV. The runtime's floor.
 */
const FLOOR = `
import { setImmediate } from "node:timers";
const [port, rate, seconds] = Deno.args.map(Number);
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
conn.setNoDelay(true);
const size = 1024, n = Math.round(rate * seconds), sent = new Float64Array(n), rtt = [];
const msg = crypto.getRandomValues(new Uint8Array(size));
let replies = 0, last = 0;
const reader = (async () => {
  const buf = new Uint8Array(262144); let bytes = 0;
  while (replies < n) {
    const k = await conn.read(buf); if (k === null) break;
    const now = performance.now(); bytes += k;
    while (bytes >= size) { bytes -= size; rtt.push(now - sent[replies++]); }
  }
})();
const start = performance.now() + 10;
for (let i = 0; i < n; i++) {
  const due = start + i * 1000 / rate;
  const sleep = due - performance.now() - 3;
  if (sleep > 0) await new Promise((r) => setTimeout(r, sleep));
  while (performance.now() < due) await new Promise((r) => setImmediate(r));
  sent[i] = last = performance.now();
  for (let w = 0; w < size;) w += await conn.write(msg.subarray(w));
}
await reader; conn.close();
rtt.sort((a, b) => a - b);
const at = (p) => rtt[Math.max(0, Math.ceil(rtt.length * p) - 1)] * 1000;
console.log(JSON.stringify({ sent: n, lastSendMs: last - start, p50Us: at(0.5), p99Us: at(0.99) }));
`;

/** The bare loop at `ratePerSec` against `port`. */
async function denoFloorAt(port: number, ratePerSec: number): Promise<Measure> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, FLOOR);
    const out = await run(Deno.execPath(), [
      "run",
      "--allow-net",
      file,
      String(port),
      String(ratePerSec),
      String(seconds),
    ], (seconds * 2 + 30) * 1000);
    const r = JSON.parse(out.stdout);
    const achieved = r.sent * 1000 / (r.lastSendMs + 1000 / ratePerSec);
    return {
      ratePerSec,
      achievedPerSec: achieved,
      answeredPerSec: NaN,
      ratio: achieved / ratePerSec,
      failed: 0,
      p50Us: NaN,
      p99Us: NaN,
      p50UncorrectedUs: r.p50Us,
      p99UncorrectedUs: r.p99Us,
    };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

const hasSockperf = await have("sockperf");
const hasSocat = await have("socat");
if (!hasSockperf) {
  console.log("sockperf is not installed (apt-get install sockperf): no peer to compare with");
}
const ownPort = freePort();
await using _own = background(Deno.execPath(), [
  ...NETSPEED,
  "serve",
  ...["--port", String(ownPort), "--no-discard", "--no-chargen"],
]);
const sockperfPort = freePort();
await using _sockperf = hasSockperf
  ? background("sockperf", ["server", "--tcp", "-i", "127.0.0.1", "-p", String(sockperfPort)])
  : { async [Symbol.asyncDispose]() {} };
await waitForPort(ownPort);
if (hasSockperf) await new Promise((resolve) => setTimeout(resolve, 500));
const socatPort = freePort();
await using _socat = hasSocat
  ? background("socat", [`TCP-LISTEN:${socatPort},bind=127.0.0.1,reuseaddr,fork,nodelay`, "PIPE"])
  : { async [Symbol.asyncDispose]() {} };
if (hasSocat) await waitForPort(socatPort);

console.log(
  `Loopback, netspeed serve, 1 worker x 1 connection, 1024-byte messages, ${stepSeconds} s per step\n`,
);
console.log("Search: doubling until achieved/asked < 0.99 or a message fails, then bisection");
let lo: Measure | undefined;
let hi: Measure | undefined;
for (let rate = startRate; rate <= MAX_RATE; rate *= 2) {
  const m = await netspeedAt(ownPort, rate, stepSeconds);
  console.log(`  ${sustained(m) ? "ok  " : "FAIL"} ${line(m)}`);
  if (sustained(m)) lo = m;
  else {
    hi = m;
    break;
  }
}
for (let i = 0; i < MAX_BISECTIONS && lo && hi && hi.ratePerSec / lo.ratePerSec > BRACKET; i++) {
  const rate = Math.round(Math.sqrt(lo.ratePerSec * hi.ratePerSec) / 100) * 100;
  const m = await netspeedAt(ownPort, rate, stepSeconds);
  console.log(`  ${sustained(m) ? "ok  " : "FAIL"} ${line(m)}`);
  if (sustained(m)) lo = m;
  else hi = m;
}
if (!lo) {
  console.log(`\nnetspeed did not sustain even ${startRate}/s; try --start lower`);
  Deno.exit(1);
}
const rate = lo.ratePerSec;
console.log(
  `\nHighest rate sustained (achieved/asked >= 0.99, no failure): ${rate}/s${
    hi ? ` (${hi.ratePerSec}/s was not)` : ""
  }\n`,
);

/** Both tools at `atRate`, interleaved; prints each run and the medians. */
async function compare(atRate: number, withFloor: boolean): Promise<void> {
  console.log(`At ${atRate}/s, ${seconds} s each, ${runs} interleaved runs:`);
  const own: Measure[] = [];
  const peer: Measure[] = [];
  const onSocat: Measure[] = [];
  const floor: Measure[] = [];
  const floorToo = withFloor && hasSocat;
  for (let i = 0; i < runs; i++) {
    if (hasSockperf) peer.push(await sockperfAt(sockperfPort, atRate));
    own.push(await netspeedAt(ownPort, atRate, seconds));
    if (floorToo) {
      onSocat.push(await netspeedAt(socatPort, atRate, seconds));
      floor.push(await denoFloorAt(socatPort, atRate));
    }
    console.log(`  run ${i + 1}/${runs}`);
    if (hasSockperf) console.log(`    sockperf  ${line(peer[i])}`);
    console.log(`    netspeed  ${line(own[i])}`);
    if (floorToo) {
      console.log(`    netspeed -> socat  ${line(onSocat[i])}`);
      console.log(`    bare Deno -> socat ${line(floor[i])}`);
    }
  }
  const med = (ms: Measure[], key: keyof Measure) => median(ms.map((m) => m[key] as number));
  const rows: [string, Measure[]][] = [["netspeed client -> netspeed server", own]];
  if (hasSockperf) rows.unshift(["sockperf under-load -> sockperf server", peer]);
  if (floorToo) {
    rows.push(["netspeed client -> socat (C) echo", onSocat]);
    rows.push(["bare Deno open loop -> socat (C) echo", floor]);
  }
  console.log(`\nmedians at ${atRate}/s (RTT = full round trip, µs)`);
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(
    `${"".padEnd(width)}  ${"achieved/s".padStart(10)}  ${"ratio".padStart(6)}  ${
      "p50 unc.".padStart(9)
    }  ${"p99 unc.".padStart(9)}  ${"p50 corr.".padStart(9)}  ${"p99 corr.".padStart(9)}`,
  );
  for (const [name, ms] of rows) {
    console.log(
      `${name.padEnd(width)}  ${fmt(med(ms, "achievedPerSec")).padStart(10)}  ${
        fmt(med(ms, "ratio"), 4).padStart(6)
      }  ${fmt(med(ms, "p50UncorrectedUs"), 1).padStart(9)}  ${
        fmt(med(ms, "p99UncorrectedUs"), 1).padStart(9)
      }  ${fmt(med(ms, "p50Us"), 1).padStart(9)}  ${fmt(med(ms, "p99Us"), 1).padStart(9)}`,
    );
  }
  if (hasSockperf) {
    console.log(
      `achieved rate, netspeed / sockperf: ${
        fmt(med(own, "achievedPerSec") / med(peer, "achievedPerSec"), 2)
      }x; p50 RTT (uncorrected): ${
        fmt(med(own, "p50UncorrectedUs") / med(peer, "p50UncorrectedUs"), 2)
      }x; p99: ${fmt(med(own, "p99UncorrectedUs") / med(peer, "p99UncorrectedUs"), 2)}x`,
    );
  }
  if (floorToo) {
    console.log(
      `p50 RTT (uncorrected), netspeed / bare Deno loop, both against socat: ${
        fmt(med(onSocat, "p50UncorrectedUs") / med(floor, "p50UncorrectedUs"), 2)
      }x (the tool's own cost over the runtime's)`,
    );
  }
  console.log("");
}

await compare(rate, false);
if (compareRate > 0 && compareRate !== rate) await compare(compareRate, true);
