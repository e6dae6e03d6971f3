/**
 * Benchmark of `netspeed report` at scale: writes a synthetic latency CSV
 * of N rows (10 million by default, about 300 MB, a local file only), then times
 * `netspeed report` on it a few times and prints rows, seconds (median),
 * report bytes and peak memory (from /usr/bin/time -v when present).
 * As a peer measured in the same run: awk summing the rtt_us column of the
 * same file, a floor for any program that splits every row. It asserts
 * nothing.
 *
 * Usage: deno run --allow-all scripts/perf_report.ts [ROWS] [RUNS]
 *
 * @module
 */
import { join } from "node:path";
import { have, run } from "./perf_common.ts";
import { seededRandom } from "../lib/report/reservoir.ts";

const rows = Number(Deno.args[0] ?? 10_000_000);
const runs = Number(Deno.args[1] ?? 3);
if (!Number.isInteger(rows) || rows < 1 || rows > 50_000_000) {
  console.error(`Invalid ROWS "${Deno.args[0]}": a whole number from 1 to 50,000,000`);
  Deno.exit(2);
}

const dir = await Deno.makeTempDir({ prefix: "netspeed-perf-report-" });
try {
  const csv = join(dir, "latency.csv");
  const html = join(dir, "report.html");
  const t0 = performance.now();
  await writeSyntheticCsv(csv, rows);
  const csvBytes = (await Deno.stat(csv)).size;
  console.log(
    `Wrote ${rows.toLocaleString("en-US")} rows (${(csvBytes / 1e6).toFixed(0)} MB) in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );

  const timeV = await have("/usr/bin/time");
  const seconds: number[] = [];
  const peaks: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    const w0 = performance.now();
    await run("awk", ["-F,", "{ s += $5 } END { print s }", csv], 600_000);
    floor.push((performance.now() - w0) / 1000);
    const args = ["run", "--allow-all", "main.ts", "report", csv, "-o", html];
    const start = performance.now();
    const out = timeV
      ? await run("/usr/bin/time", ["-v", Deno.execPath(), ...args], 600_000)
      : await run(Deno.execPath(), args, 600_000);
    seconds.push((performance.now() - start) / 1000);
    if (out.code !== 0) {
      console.error(out.stderr);
      Deno.exit(1);
    }
    const peak = out.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
    if (peak) peaks.push(Number(peak[1]) / 1024);
  }
  const htmlBytes = (await Deno.stat(html)).size;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`netspeed report on ${rows.toLocaleString("en-US")} rows, ${runs} runs:`);
  console.log(
    `  time: median ${median(seconds).toFixed(1)} s (all: ${
      seconds.map((s) => s.toFixed(1)).join(", ")
    })`,
  );
  console.log(
    `  awk summing rtt_us of the same file: median ${median(floor).toFixed(1)} s (ratio ${
      (median(seconds) / median(floor)).toFixed(1)
    }x)`,
  );
  console.log(`  rows per second: ${Math.round(rows / median(seconds)).toLocaleString("en-US")}`);
  console.log(
    `  report: ${htmlBytes.toLocaleString("en-US")} bytes (${(htmlBytes / 1e6).toFixed(2)} MB)`,
  );
  if (peaks.length > 0) {
    console.log(`  peak memory (max RSS): median ${median(peaks).toFixed(0)} MiB`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

/**
 * 16 connections on 4 workers, round trips log-normal around 50 µs, a
 * stall on connection 7 in the middle of the run, a timeout every 100 000
 * attempts; rows written in batches as netspeed writes them.
 */
async function writeSyntheticCsv(path: string, total: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const random = seededRandom(1);
  const connections = 16;
  const clock = new Float64Array(connections).fill(1000);
  const seq = new Uint32Array(connections);
  let written = 0;
  let chunk: string[] = ["worker,connection,seq,start_us,rtt_us,bytes,error"];
  const flush = async () => {
    const bytes = encoder.encode(chunk.join("\n") + "\n");
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    chunk = [];
  };
  while (written < total) {
    for (let c = 0; c < connections && written < total; c++) {
      for (let k = 0; k < 64 && written < total; k++) {
        written++;
        const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
        let rtt = 50 * Math.exp(0.3 * z);
        if (c === 7 && written > total * 0.45 && written < total * 0.5) rtt *= 30;
        const fails = written % 100_000 === 0;
        chunk.push(
          `${c >> 2},${c},${seq[c]++},${clock[c].toFixed(1)},${fails ? "" : rtt.toFixed(3)},${
            fails ? 0 : 64
          },${fails ? "timeout" : ""}`,
        );
        clock[c] += (fails ? 5000 : rtt) + 3;
      }
    }
    if (chunk.length >= 100_000) await flush();
  }
  await flush();
  file.close();
}
