/**
 * The report's aggregation against known data: log histograms, per-bin
 * percentiles, bounded uniform sampling, the percentile spectrum, and
 * throughput totals. (Comparisons between runs: compare_core_test.ts.)
 */
import assert from "node:assert/strict";
import { createHistogram, recordUs } from "../lib/histogram.ts";
import { AttemptsAggregator } from "../lib/report/attempts.ts";
import type { CsvRow } from "../lib/report/csv_stream.ts";
import { LogHistogram } from "../lib/report/log_histogram.ts";
import { runLabels, runLimits } from "../lib/report/options.ts";
import { Reservoir, seededRandom } from "../lib/report/reservoir.ts";
import { displayBins, percentileSpectrum } from "../lib/report/stats.ts";
import { ThroughputAggregator } from "../lib/report/throughput_data.ts";

/** A CSV row from cells, as the reader would hand it over. */
function row(cells: (string | number)[], line = 2): CsvRow {
  const text = cells.map(String);
  return {
    line,
    fieldCount: text.length,
    isEmpty: (i) => (text[i] ?? "") === "",
    number: (i) => (text[i] ?? "") === "" ? NaN : Number(text[i]),
    text: (i) => text[i] ?? "",
  };
}

const LATENCY_COLUMNS = {
  worker: 0,
  connection: 1,
  startUs: 2,
  valueUs: 3,
  error: 4,
  valueName: "rtt_us",
};

/** Relative difference. */
const rel = (a: number, b: number) => Math.abs(a - b) / b;

Deno.test("LogHistogram answers percentiles within 0.6% of the exact ones and merges exactly", () => {
  const random = seededRandom(3);
  const values = Array.from({ length: 50_000 }, () => 10 + 5000 * random() ** 3);
  const a = new LogHistogram();
  const b = new LogHistogram();
  values.forEach((v, i) => (i % 2 ? a : b).add(v));
  a.merge(b);
  const sorted = [...values].sort((x, y) => x - y);
  for (const q of [0.25, 0.5, 0.9, 0.99, 0.999]) {
    const exact = sorted[Math.ceil(q * sorted.length) - 1];
    assert.ok(rel(a.valueAt(q), exact) < 0.006, `q=${q}: ${a.valueAt(q)} vs ${exact}`);
  }
  assert.equal(a.count, values.length);
  assert.equal(a.minUs, sorted[0]);
  assert.equal(a.maxUs, sorted[sorted.length - 1]);
  const bins = displayBins(a);
  assert.equal(bins.reduce((s, x) => s + x.count, 0), values.length);
  // Contiguous bins on a log axis, 20 per factor of ten.
  for (let i = 1; i < bins.length; i++) assert.ok(rel(bins[i].lowUs, bins[i - 1].highUs) < 1e-9);
  assert.ok(rel(bins[0].highUs / bins[0].lowUs, 10 ** (1 / 20)) < 1e-9);
});

Deno.test("AttemptsAggregator gives per-second percentiles and counts of known data", () => {
  const agg = new AttemptsAggregator(LATENCY_COLUMNS);
  // Second s holds 1000 round trips of 1..1000 × (s + 1) µs, and s failures.
  for (let s = 0; s < 40; s++) {
    for (let k = 1; k <= 1000; k++) {
      const start = s * 1e6 + k * 900;
      assert.equal(agg.add(row([k % 2, k % 4, start, (k * (s + 1)).toFixed(3), ""])), null);
    }
    for (let f = 0; f < s; f++) agg.add(row([0, 0, s * 1e6 + 950_000 + f, "", "reset"]));
  }
  const d = agg.finish();
  assert.equal(d.binSeconds, 1);
  assert.equal(d.bins.length, 40);
  for (const [s, bin] of d.bins.entries()) {
    assert.equal(bin.startS, s);
    assert.equal(bin.count, 1000);
    assert.equal(bin.failed, s);
    assert.deepEqual(bin.errors, s === 0 ? {} : { reset: s });
    assert.ok(rel(bin.p50Us!, 500 * (s + 1)) < 0.012, `p50 of second ${s}: ${bin.p50Us}`);
    assert.ok(rel(bin.p99Us!, 990 * (s + 1)) < 0.012, `p99 of second ${s}: ${bin.p99Us}`);
    assert.equal(bin.maxUs, 1000 * (s + 1));
  }
  assert.equal(d.successes, 40_000);
  assert.equal(d.failures, 39 * 40 / 2);
  assert.equal(d.workers.length, 2);
  assert.equal(d.connections.length, 4);
  assert.equal(d.connections.reduce((a, c) => a + c.count, 0), 40_000);
  // Exact run percentiles from the HDR histogram.
  assert.ok(rel(d.stats.maxUs, 40_000) < 0.001);
});

Deno.test("AttemptsAggregator widens its time bins so a long run stays within the bin budget", () => {
  const agg = new AttemptsAggregator(LATENCY_COLUMNS, { sampleCapacity: 100, maxBins: 60 });
  for (let t = 0; t < 600; t += 0.05) agg.add(row([0, 0, Math.round(t * 1e6), 100 + (t % 7), ""]));
  const d = agg.finish();
  // 1 ms → 10 ms → 100 ms → 1 s → 2 → 4 → 8 → 16 s: the first width with 600 s in 60 bins.
  assert.equal(d.binSeconds, 16);
  assert.ok(d.bins.length <= 60);
  assert.equal(d.bins.reduce((a, b) => a + b.count, 0), d.successes);
  assert.equal(d.successes, 12_000);
});

Deno.test("AttemptsAggregator shows a short run in bins shorter than a second", () => {
  const agg = new AttemptsAggregator(LATENCY_COLUMNS);
  for (let ms = 0; ms < 3000; ms++) agg.add(row([0, 0, ms * 1000, 80, ""]));
  const d = agg.finish();
  assert.equal(d.binSeconds, 0.05);
  assert.equal(d.bins.length, 60);
});

Deno.test("Reservoir keeps a bounded sample in which every item has the same chance", () => {
  const reservoir = new Reservoir(2000, 1, 42);
  const offered = 400_000;
  for (let i = 0; i < offered; i++) {
    const slot = reservoir.offer();
    if (slot >= 0) reservoir.columns[0][slot] = i;
  }
  assert.equal(reservoir.size, 2000);
  assert.equal(reservoir.offered, offered);
  const kept = Array.from(reservoir.columns[0]);
  assert.equal(new Set(kept).size, 2000);
  // Uniform: a quarter in each quarter of the stream (binomial sd ≈ 0.0097).
  for (let quarter = 0; quarter < 4; quarter++) {
    const share = kept.filter((i) => Math.floor(i / (offered / 4)) === quarter).length / 2000;
    assert.ok(Math.abs(share - 0.25) < 0.04, `quarter ${quarter}: ${share}`);
  }
});

Deno.test("AttemptsAggregator samples at most its capacity and says of how many", () => {
  const agg = new AttemptsAggregator(LATENCY_COLUMNS, { sampleCapacity: 500, maxBins: 3600 });
  for (let i = 0; i < 20_000; i++) agg.add(row([0, i % 3, i * 100, 50, ""]));
  const d = agg.finish();
  assert.equal(d.sample.length, 500);
  assert.equal(d.sampleOf, 20_000);
  for (let i = 1; i < d.sample.length; i++) assert.ok(d.sample[i].t >= d.sample[i - 1].t);
});

Deno.test("percentileSpectrum() runs from p0 to the last percentile with a sample above, then the max", () => {
  const h = createHistogram();
  for (let v = 1; v <= 1000; v++) recordUs(h, v);
  const spectrum = percentileSpectrum(h);
  assert.equal(spectrum[0].percentile, 0);
  assert.equal(spectrum[0].valueUs, 1);
  const p90 = spectrum.find((p) => Math.abs(p.percentile - 90) < 1e-9)!;
  assert.ok(rel(p90.valueUs, 900) < 0.001);
  assert.equal(p90.inverseTail, 10);
  const last = spectrum[spectrum.length - 1];
  assert.equal(last.valueUs, 1000);
  assert.equal(last.inverseTail, 1000);
  assert.ok(spectrum.every((p, i) => i === 0 || p.inverseTail > spectrum[i - 1].inverseTail));
});

Deno.test("ThroughputAggregator sums streams per interval and leaves --omit out of the totals", () => {
  const columns = { stream: 0, worker: 1, direction: 2, startS: 3, endS: 4, bytes: 5, omitted: 6 };
  const agg = new ThroughputAggregator(columns);
  for (let i = 0; i < 10; i++) {
    for (let s = 0; s < 3; s++) {
      // 1 MB per stream per 0.5 s, except stream 2, which stalls in intervals 6 and 7.
      const bytes = s === 2 && (i === 6 || i === 7) ? 0 : 1_000_000;
      assert.equal(
        agg.add(row([s, s, "up", i * 0.5, (i + 1) * 0.5, bytes, i === 0 ? 1 : 0])),
        null,
      );
    }
  }
  assert.match(agg.add(row([0, 0, "sideways", 0, 0.5, 1, 0]))!, /neither up nor down/);
  assert.match(agg.add(row([0, 0, "up", 1, 0.5, 1, 0]))!, /not an interval/);
  const d = agg.finish();
  assert.equal(d.rows, 30);
  assert.equal(d.totals.length, 10);
  assert.equal(d.totals[1].bitsPerSec, 3 * 1_000_000 * 8 / 0.5);
  const up = d.directions[0];
  assert.equal(up.direction, "up");
  assert.equal(up.streams, 3);
  assert.equal(up.bytes, 25_000_000);
  assert.equal(up.measuredSeconds, 4.5);
  assert.equal(up.emptyIntervals, 2);
  assert.equal(up.minStream, 2);
  // Many points merge into fewer, bytes kept.
  const merged = agg.finish(10);
  assert.ok(merged.points.length <= 12);
  assert.equal(merged.mergedBy, 3);
  assert.equal(
    merged.points.reduce((a, p) => a + p.bytes, 0),
    d.points.reduce((a, p) => a + p.bytes, 0),
  );
});

Deno.test("runLabels() names runs by file, with folders only where names clash", () => {
  assert.deepEqual(runLabels(["/x/before.csv", "/x/after.csv"]), ["before", "after"]);
  assert.deepEqual(
    runLabels(["r/2026-01/latency.csv", "r/2026-02/latency.csv", "r/2026-02/connect.csv"]),
    ["2026-01/latency", "2026-02/latency", "connect"],
  );
  assert.deepEqual(runLabels(["a.csv", "a.csv"]), ["a (1)", "a (2)"]);
  const limits = runLimits(10);
  assert.ok(limits.sampleCapacity * 10 <= 40_000);
  assert.equal(runLimits(1).sampleCapacity, 20_000);
});
