/**
 * The report over time and over nodes: empty time bins are gaps (or
 * zeros), never lines drawn across them; a merged CSV (with a `node`
 * column) is drawn as the aggregate plus one series per node.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadRun, loadRuns } from "../lib/report/load_run.ts";
import { runLimits } from "../lib/report/options.ts";
import {
  CONNECT_MEASURE,
  LATENCY_MEASURE,
  overTimeSpec,
  ratesSpec,
  runsOverTimeSpec,
} from "../lib/report/specs.ts";
import { throughputByNodeSpec } from "../lib/report/throughput_specs.ts";
import type { AttemptsRun, ThroughputRun } from "../lib/report/load_run.ts";
import { tempDir } from "./helpers.ts";
import { compile } from "vega-lite";

const CONNECT = CONNECT_MEASURE;

/** A connect CSV with attempts every 10 ms for 0.5 s, nothing for 1 s (a SYN retry), then 0.5 s more. */
function gappedConnectCsv(): string {
  const rows = ["worker,seq,start_us,connect_us,error"];
  let seq = 0;
  for (const [from, to] of [[0, 500_000], [1_500_000, 2_000_000]]) {
    for (let t = from; t < to; t += 10_000) rows.push(`0,${seq++},${t},${150 + (seq % 7)},`);
  }
  return rows.join("\n") + "\n";
}

function layerValues(spec: unknown, index: number): Record<string, unknown>[] {
  return (spec as { layer: { data: { values: Record<string, unknown>[] } }[] }).layer[index].data
    .values;
}

Deno.test("overTimeSpec() and ratesSpec() show a gap in the attempts as nulls and zeros", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "connect.csv");
  await Deno.writeTextFile(path, gappedConnectCsv());
  const run = await loadRun(path, "connect", runLimits(1)) as AttemptsRun;
  const d = run.data;
  const empty = d.bins.filter((b) => b.count === 0 && b.failed === 0);
  assert.ok(empty.length >= 10, `${empty.length} empty bins in the 1 s gap`);
  for (const b of empty) {
    assert.ok(b.startS >= 0.49 && b.endS <= 1.51, `empty bin ${b.startS}–${b.endS} s`);
  }
  // Percentile lines break (null) in the gap instead of joining its two sides.
  const lines = layerValues(overTimeSpec({ label: "connect", data: d }, CONNECT), 1);
  const inGap = lines.filter((l) => (l.t as number) > 0.6 && (l.t as number) < 1.4);
  assert.ok(inGap.length > 0 && inGap.every((l) => l.v === null));
  // Rates drop to zero there.
  const rates = (ratesSpec([{ label: "connect", data: d }], CONNECT) as {
    data: { values: { t: number; ok: number }[] };
  }).data.values;
  const gapRates = rates.filter((r) => r.t > 0.6 && r.t < 1.4);
  assert.ok(gapRates.length > 0 && gapRates.every((r) => r.ok === 0));
});

Deno.test("loadRuns() draws a merged CSV as the aggregate plus one run per node", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "merged.csv");
  const rows = ["node,worker,connection,seq,start_us,rtt_us,bytes,error"];
  for (let i = 0; i < 300; i++) {
    rows.push(`a,0,0,${i},${i * 1000},${100 + (i % 10)},16,`);
    rows.push(`b,0,0,${i},${i * 1000 + 7},${500 + (i % 10)},16,`);
  }
  await Deno.writeTextFile(path, rows.join("\n") + "\n");
  const runs = await loadRuns(path, "merged", runLimits(1)) as AttemptsRun[];
  assert.deepEqual(runs.map((r) => r.label), ["merged (all nodes)", "a", "b"]);
  assert.deepEqual(runs.map((r) => r.data.successes), [600, 300, 300]);
  // In the aggregate, each node is one "worker" row, so nodes stay apart.
  assert.deepEqual(runs[0].data.workers.map((w) => w.count), [300, 300]);
  assert.ok(runs[1].data.stats.p50Us < 120 && runs[2].data.stats.p50Us > 480);
  const spec = runsOverTimeSpec(
    runs.slice(1).map((r) => ({ label: r.label, data: r.data })),
    LATENCY_MEASURE,
  );
  const values = (spec as { data: { values: { run: string }[] } }).data.values;
  assert.deepEqual([...new Set(values.map((v) => v.run))], ["a", "b"]);
  compile(spec);
});

Deno.test("throughputByNodeSpec() stacks the nodes' intervals on one time axis", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "merged.csv");
  const rows = [
    "node,stream,worker,direction,interval_start_s,interval_end_s,bytes,bits_per_sec,omitted",
  ];
  for (let i = 0; i < 4; i++) {
    rows.push(`a,0,0,up,${i}.000,${i + 1}.000,1000,8000,0`);
    rows.push(`b,0,0,up,${i}.002,${i + 1}.002,3000,24000,0`);
  }
  await Deno.writeTextFile(path, rows.join("\n") + "\n");
  const runs = await loadRuns(path, "merged", runLimits(1)) as ThroughputRun[];
  assert.deepEqual(runs.map((r) => r.label), ["merged (all nodes)", "a", "b"]);
  assert.equal(runs[0].data.directions[0].bytes, 16_000);
  assert.equal(runs[0].data.directions[0].streams, 2, "stream 0 of a and of b are two streams");
  const spec = throughputByNodeSpec(runs.slice(1).map((r) => ({ label: r.label, data: r.data })));
  const values = (spec as { data: { values: { t0: number; node: string }[] } }).data.values;
  // b's intervals, 2 ms later, land on the same stacked bars as a's.
  assert.deepEqual([...new Set(values.map((v) => v.t0))].sort(), [0, 1, 2, 3]);
  compile(spec);
});
