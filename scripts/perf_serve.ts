/**
 * `deno task perf:serve`: what `netspeed serve` costs and carries.
 *
 * 1. Memory and single-stream echo: RSS per idle connection (10,000 held
 *    open), peak RSS, and one stream's echo throughput (`throughput
 *    --direction both -P 1`), for this tree and, with `--before
 *    DIR/main.ts`, an older netspeed (e.g. `git archive <commit> | tar -x
 *    -C DIR`), in interleaved rounds.
 * 2. Threads: `connect -w 2 -n 5000` against `serve --threads 1` and `2`
 *    (and the older one): connections/s, the kernel's listen-queue
 *    overflows during the storm (`nstat -az TcpExtListenOverflows`, a
 *    system-wide counter: other traffic on the machine counts too) and
 *    connects that took a SYN retry (≥ 1 s); then echo throughput with
 *    `throughput --direction both -P 4`.
 *
 * Options: `--rounds 5 --idle 10000 --seconds 3 --before PATH`. Medians of
 * the rounds; every round printed.
 *
 * @module
 */
import { median, NETSPEED, run } from "./perf_common.ts";
import { openIdle, rssKiB, spawnServe } from "./abuse_clients.ts";

const args = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) args.set(Deno.args[i], Deno.args[i + 1]);
const rounds = Number(args.get("--rounds") ?? 5);
const idle = Number(args.get("--idle") ?? 10_000);
const seconds = Number(args.get("--seconds") ?? 3);
const before = args.get("--before");
const current = new URL("../main.ts", import.meta.url).pathname;

interface Variant {
  name: string;
  main: string;
  flags: string[];
}

const SERVE_FLAGS = ["--port", "0", "--no-discard", "--no-chargen", "--idle-timeout", "0"];
const withBefore = (variants: Variant[]) =>
  before ? [{ name: "before", main: before, flags: [] }, ...variants] : variants;

/** Runs the netspeed CLI of this tree; resolves with its JSON summary. */
async function netspeedJson(cliArgs: string[]): Promise<Record<string, unknown>> {
  const json = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const out = await run(Deno.execPath(), [
      ...NETSPEED,
      ...cliArgs,
      "--json",
      json,
      "--no-progress",
    ]);
    if (out.code !== 0 && out.code !== 1) throw new Error(`netspeed failed: ${out.stderr}`);
    return JSON.parse(await Deno.readTextFile(json));
  } finally {
    await Deno.remove(json).catch(() => {});
  }
}

/** Echo throughput both ways, bits/s, over `streams` streams. */
async function echoBitsPerSec(port: number, streams: number): Promise<number> {
  const summary = await netspeedJson([
    "throughput",
    "127.0.0.1",
    "--echo-port",
    String(port),
    "--direction",
    "both",
    "-P",
    String(streams),
    "-d",
    `${seconds}s`,
  ]);
  return (summary.totals as { all: { bitsPerSec: number } }).all.bitsPerSec;
}

async function listenOverflows(): Promise<number> {
  const out = await run("nstat", ["-az", "TcpExtListenOverflows"]);
  return Number(/TcpExtListenOverflows\s+(\d+)/.exec(out.stdout)?.[1] ?? NaN);
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

// 1. Memory and one stream.
const memory = new Map<string, { perConnKiB: number[]; peakMiB: number[]; gbps: number[] }>();
const memoryVariants = withBefore([{ name: "now", main: current, flags: [] }]);
console.log(`Memory: ${fmt(idle)} idle connections; one echo stream for ${seconds} s`);
for (let round = 1; round <= rounds; round++) {
  for (const variant of memoryVariants) {
    await using server = await spawnServe(
      [...SERVE_FLAGS, ...variant.flags],
      undefined,
      variant.main,
    );
    const pid = server.process.pid;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const start = await rssKiB(pid);
    const held = await openIdle(server.port, idle);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const loaded = await rssKiB(pid);
    held.close();
    if (held.stoppedBy) console.log(`  (opened ${held.conns.length}: ${held.stoppedBy})`);
    const gbps = (await echoBitsPerSec(server.port, 1)) / 1e9;
    const perConnKiB = (loaded.nowKiB - start.nowKiB) / held.conns.length;
    const entry = memory.get(variant.name) ?? { perConnKiB: [], peakMiB: [], gbps: [] };
    entry.perConnKiB.push(perConnKiB);
    entry.peakMiB.push(loaded.peakKiB / 1024);
    entry.gbps.push(gbps);
    memory.set(variant.name, entry);
    console.log(
      `  round ${round} ${variant.name.padEnd(6)} start ${fmt(start.nowKiB / 1024)} MiB, with ${
        fmt(held.conns.length)
      } idle ${fmt(loaded.nowKiB / 1024)} MiB (peak ${fmt(loaded.peakKiB / 1024)} MiB), ${
        fmt(perConnKiB, 2)
      } KiB each; one echo stream ${fmt(gbps, 2)} Gbit/s`,
    );
  }
}
console.log("\nmedians          KiB/idle conn   peak RSS MiB   1-stream echo Gbit/s");
for (const [name, m] of memory) {
  console.log(
    `${name.padEnd(16)} ${fmt(median(m.perConnKiB), 2).padStart(13)}   ${
      fmt(median(m.peakMiB)).padStart(12)
    }   ${fmt(median(m.gbps), 2).padStart(20)}`,
  );
}
if (before && memory.has("before")) {
  const a = memory.get("now")!;
  const b = memory.get("before")!;
  console.log(
    `now/before: memory per idle connection ${
      fmt(median(a.perConnKiB) / median(b.perConnKiB), 2)
    }×, one-stream echo ${fmt(median(a.gbps) / median(b.gbps), 2)}×`,
  );
}

// 2. Threads: the connect storm and echo throughput.
const threadVariants = withBefore([
  { name: "threads 1", main: current, flags: ["--threads", "1"] },
  { name: "threads 2", main: current, flags: ["--threads", "2"] },
]);
const storm = new Map<
  string,
  { cps: number[]; overflows: number[]; retried: number[]; gbps: number[] }
>();
console.log(`\nConnect storm (connect -w 2 -n 5000) and echo (throughput both -P 4, ${seconds} s)`);
for (let round = 1; round <= rounds; round++) {
  for (const variant of threadVariants) {
    await using server = await spawnServe(
      [...SERVE_FLAGS, ...variant.flags],
      undefined,
      variant.main,
    );
    const csv = await Deno.makeTempFile({ suffix: ".csv" });
    const overflowsBefore = await listenOverflows();
    const summary = await netspeedJson([
      "connect",
      `127.0.0.1:${server.port}`,
      "-w",
      "2",
      "-n",
      "5000",
      "--csv",
      csv,
    ]);
    const overflows = (await listenOverflows()) - overflowsBefore;
    const rows = (await Deno.readTextFile(csv)).trim().split("\n").slice(1);
    await Deno.remove(csv);
    const retried = rows.filter((row) => Number(row.split(",")[3]) >= 900_000).length;
    const cps = Number(
      (summary as { connectionsPerSec?: number }).connectionsPerSec ??
        (summary.all as { connectionsPerSec: number } | undefined)?.connectionsPerSec,
    );
    const gbps = (await echoBitsPerSec(server.port, 4)) / 1e9;
    const entry = storm.get(variant.name) ?? { cps: [], overflows: [], retried: [], gbps: [] };
    entry.cps.push(cps);
    entry.overflows.push(overflows);
    entry.retried.push(retried);
    entry.gbps.push(gbps);
    storm.set(variant.name, entry);
    console.log(
      `  round ${round} ${variant.name.padEnd(9)} ${
        fmt(cps)
      } connections/s, ${overflows} listen overflows, ${retried} connects ≥ 1 s; echo -P 4 ${
        fmt(gbps, 2)
      } Gbit/s`,
    );
  }
}
console.log(
  "\nmedians       connections/s   overflows (sum)   connects ≥ 1 s (sum)   echo -P 4 Gbit/s",
);
for (const [name, m] of storm) {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  console.log(
    `${name.padEnd(13)} ${fmt(median(m.cps)).padStart(13)}   ${
      String(sum(m.overflows)).padStart(15)
    }   ${String(sum(m.retried)).padStart(20)}   ${fmt(median(m.gbps), 2).padStart(16)}`,
  );
}
const one = storm.get("threads 1")!;
const two = storm.get("threads 2")!;
console.log(
  `threads 2 / threads 1: connections/s ${fmt(median(two.cps) / median(one.cps), 2)}×, echo ${
    fmt(median(two.gbps) / median(one.gbps), 2)
  }×`,
);
