/**
 * compare's statistics against known distributions: sample-size rules,
 * Student's t, block bootstrap against time correlation, the false-verdict
 * rate of identical configurations whose runs drift, the detection of a
 * real shift, and gates.
 */
import assert from "node:assert/strict";
import { createHistogram, recordUs } from "../lib/histogram.ts";
import { seededRandom } from "../lib/report/reservoir.ts";
import {
  blocksQuantile,
  type HistogramBlocks,
  nearestRank,
  randomBlocks,
  TimeBlocks,
  valueBlocks,
} from "../lib/compare/blocks.ts";
import { samplesNeeded } from "../lib/compare/difference.ts";
import { studentTQuantile } from "../lib/compare/student_t.ts";
import {
  type CompareRun,
  compareRuns,
  DEFAULT_COMPARE_SETTINGS,
} from "../lib/compare/comparison.ts";
import { judgeGate, parseGate } from "../lib/compare/gates.ts";
import { formatComparison } from "../lib/compare/format.ts";
import { UsageError } from "../lib/errors.ts";
import { parseCompareFlags } from "../lib/cli/compare.ts";

const SETTINGS = { ...DEFAULT_COMPARE_SETTINGS, percentiles: [50, 90, 99, 99.9] };

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * A run of `n` log-normal samples (σ 0.3) around `medianUs`, one every
 * 50 µs, each multiplied by `drift(t)` (t from 0 to 1 over the run).
 */
function timedRun(
  n: number,
  medianUs: number,
  seed: number,
  drift: (t: number) => number = () => 1,
): HistogramBlocks {
  const random = seededRandom(seed);
  const blocks = new TimeBlocks();
  for (let i = 0; i < n; i++) {
    blocks.add(i * 50, medianUs * drift(i / n) * Math.exp(0.3 * normal(random)));
  }
  return blocks.finish();
}

function latencyRun(label: string, blocks: HistogramBlocks): CompareRun {
  return {
    label,
    path: `${label}.csv`,
    kind: "latency",
    distributions: { rtt: blocks },
    rates: {},
    facts: {},
  };
}

Deno.test("nearestRank() is not moved by float noise", () => {
  assert.equal(nearestRank(0.999, 20_000), 19_980);
  assert.equal(nearestRank(99.9 / 100, 20_000), 19_980);
  assert.equal(nearestRank(0.5, 1), 1);
  assert.equal(nearestRank(0.5, 3), 2);
  assert.equal(nearestRank(1, 10), 10);
});

Deno.test("samplesNeeded() asks ten samples beyond a percentile", () => {
  assert.equal(samplesNeeded(0.5, 0.95), 20);
  assert.equal(samplesNeeded(0.99, 0.95), 1000);
  assert.equal(samplesNeeded(0.999, 0.95), 10_000);
});

Deno.test("studentTQuantile() matches the tables", () => {
  assert.ok(Math.abs(studentTQuantile(0.975, 1) - 12.706) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.975, 4) - 2.776) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.995, 10) - 3.169) < 1e-3);
  assert.ok(Math.abs(studentTQuantile(0.975, 1e6) - 1.960) < 1e-3);
});

Deno.test("TimeBlocks keeps 20 to 40 windows and the exact quantiles to 0.1%", () => {
  const values: number[] = [];
  const blocks = new TimeBlocks();
  const random = seededRandom(3);
  for (let i = 0; i < 50_000; i++) {
    const v = 100 * Math.exp(normal(random));
    values.push(v);
    blocks.add(i * 37, v);
  }
  const b = blocks.finish();
  assert.ok(b.cumulative.length >= 20 && b.cumulative.length <= 40, `${b.cumulative.length}`);
  assert.equal(b.total, 50_000);
  values.sort((x, y) => x - y);
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const exact = values[nearestRank(q, values.length) - 1];
    assert.ok(Math.abs(blocksQuantile(b, q) / exact - 1) < 0.001, `q ${q}`);
  }
});

Deno.test("randomBlocks() of an HDR histogram gives the exact nearest-rank quantiles to 0.2%", () => {
  const h = createHistogram();
  const random = seededRandom(5);
  const values: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const v = 50 * Math.exp(0.5 * normal(random));
    values.push(v);
    recordUs(h, v);
  }
  values.sort((x, y) => x - y);
  const b = randomBlocks(h, 1);
  assert.equal(b.total, 20_000);
  assert.equal(b.order, "random");
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const exact = values[nearestRank(q, values.length) - 1];
    assert.ok(Math.abs(blocksQuantile(b, q) / exact - 1) < 0.002, `q ${q}`);
  }
});

Deno.test("compareRuns() widens the interval of a run that drifts in time, not of a steady one", () => {
  // Same samples, once steady and once drifting ±10% over the run: time windows see the drift.
  const steady = compareRuns(
    [latencyRun("a", timedRun(20_000, 100, 1))],
    [latencyRun("b", timedRun(20_000, 100, 2))],
    SETTINGS,
  );
  const wave = (t: number) => 1 + 0.1 * Math.sin(2 * Math.PI * t);
  const drifting = compareRuns(
    [latencyRun("a", timedRun(20_000, 100, 1, wave))],
    [latencyRun("b", timedRun(20_000, 100, 2, wave))],
    SETTINGS,
  );
  const width = (c: typeof steady) => c.rows[0].high! - c.rows[0].low!;
  assert.ok(
    width(drifting) > 1.5 * width(steady),
    `p50 interval ${width(steady).toFixed(2)} µs steady, ${width(drifting).toFixed(2)} µs drifting`,
  );
});

Deno.test("compareRuns() with one run per side never calls better or worse", () => {
  const c = compareRuns(
    [latencyRun("a", timedRun(20_000, 100, 1))],
    [latencyRun("b", timedRun(20_000, 130, 2))],
    SETTINGS,
  );
  assert.equal(c.rows[0].verdict, "need more runs");
  assert.equal(c.rows[0].method, "within one run");
  assert.ok(c.rows.every((r) => r.verdict !== "better" && r.verdict !== "worse"));
  assert.match(formatComparison(c), /repeat each side/);
});

Deno.test("compareRuns() says not enough samples for p99.9 of 200 samples", () => {
  const c = compareRuns(
    [latencyRun("a", timedRun(200, 100, 1))],
    [latencyRun("b", timedRun(200, 100, 2))],
    SETTINGS,
  );
  const p999 = c.rows.find((r) => r.metric === "p99.9")!;
  assert.equal(p999.verdict, "not enough samples");
  assert.equal(p999.needSamples, 10_000);
  assert.equal(p999.low, null);
  assert.match(formatComparison(c), /not enough samples \(need about 10,000\)/);
  assert.notEqual(c.rows.find((r) => r.metric === "p50")!.verdict, "not enough samples");
});

/**
 * Runs of one configuration whose level moves from run to run (σ 3%), as
 * real runs do with the machine's state: `runs` per side.
 */
function driftingSide(runs: number, medianUs: number, seed: number, shift = 1): CompareRun[] {
  const random = seededRandom(seed);
  return Array.from({ length: runs }, (_, i) => {
    const level = shift * Math.exp(0.03 * normal(random));
    return latencyRun(`r${seed}-${i}`, timedRun(4000, medianUs * level, seed * 100 + i));
  });
}

Deno.test("compareRuns() over 3 runs per side calls identical configurations different at most 10% of the time", () => {
  const trials = 40;
  const falseVerdicts = new Map<string, number>();
  for (let t = 0; t < trials; t++) {
    const c = compareRuns(driftingSide(3, 100, 2 * t + 1), driftingSide(3, 100, 2 * t + 2), {
      ...SETTINGS,
      percentiles: [50, 90, 99],
    });
    for (const r of c.rows) {
      const wrong = r.verdict === "better" || r.verdict === "worse" ? 1 : 0;
      falseVerdicts.set(r.metric, (falseVerdicts.get(r.metric) ?? 0) + wrong);
    }
  }
  console.log(`false verdicts of ${trials} (simulated, 3 runs per side):`, falseVerdicts);
  for (const [metric, n] of falseVerdicts) {
    assert.ok(n <= trials / 10, `${metric}: ${n} false verdicts of ${trials}`);
  }
});

Deno.test("compareRuns() over 3 runs per side finds a 10% slowdown and brackets it", () => {
  const c = compareRuns(driftingSide(3, 100, 7), driftingSide(3, 100, 8, 1.1), SETTINGS);
  const p50 = c.rows.find((r) => r.metric === "p50")!;
  assert.equal(p50.verdict, "worse");
  assert.equal(p50.method, "between runs");
  assert.ok(p50.low! < 10 && p50.high! > 10, `${p50.low} … ${p50.high}`);
  const p90 = c.rows.find((r) => r.metric === "p90")!;
  assert.equal(p90.verdict, "worse");
});

Deno.test("compareRuns() compares throughput on the mean rate over intervals", () => {
  const run = (label: string, mbps: number, seed: number): CompareRun => {
    const random = seededRandom(seed);
    const values = Array.from({ length: 20 }, () => mbps * 1e6 * (1 + 0.02 * normal(random)));
    return {
      label,
      path: label,
      kind: "throughput",
      distributions: {},
      rates: { up: valueBlocks(values) },
      facts: {},
    };
  };
  const c = compareRuns(
    [run("a1", 900, 1), run("a2", 905, 2), run("a3", 895, 3)],
    [run("b1", 800, 4), run("b2", 795, 5), run("b3", 805, 6)],
    { ...SETTINGS, gates: [parseGate("mean < -5%"), parseGate("mean < -20%")] },
  );
  assert.equal(c.rows.length, 1);
  assert.equal(c.rows[0].metric, "mean");
  assert.equal(c.rows[0].verdict, "worse");
  assert.deepEqual(c.gates.map((g) => g.outcome), ["failed", "passed"]);
  assert.ok(c.failed);
});

Deno.test("parseGate() reads percent, time and rate thresholds and rejects the rest", () => {
  assert.deepEqual(parseGate("p99 > +10%"), {
    text: "p99 > +10%",
    metric: "p99",
    percentile: 99,
    direction: ">",
    threshold: 10,
    unit: "%",
  });
  assert.equal(parseGate("p50 > +20us").threshold, 20);
  assert.equal(parseGate("p99.9>2ms").threshold, 2000);
  assert.equal(parseGate("mean < -5%").threshold, -5);
  assert.equal(parseGate("mean < -100Mbit/s").threshold, -1e8);
  for (const bad of ["p99 > fast", "p99 > 10", "p100 > +1%", "p0 > 1%", "mean > 5ms", "x < 1%"]) {
    assert.throws(() => parseGate(bad), UsageError, bad);
  }
});

Deno.test("judgeGate() fails only when the whole interval is past the threshold", () => {
  const gate = parseGate("p99 > +10%");
  const row = (low: number, high: number, method = "between runs") => ({
    name: "latency p99",
    base: 100,
    low,
    high,
    method,
    verdict: "worse",
  });
  assert.equal(judgeGate(gate, row(11, 20)).outcome, "failed");
  assert.equal(judgeGate(gate, row(9, 20)).outcome, "passed");
  assert.equal(judgeGate(gate, row(11, 20, "within one run")).outcome, "not judged");
  assert.equal(judgeGate(parseGate("p99 < -10%"), row(-30, -11)).outcome, "failed");
});

Deno.test("parseCompareFlags() reads percentiles, confidence and gates, and adds gated percentiles", () => {
  const o = parseCompareFlags("a.csv", "b.csv", {
    percentiles: "p50, 99.9",
    confidence: "99%",
    failIf: ["p99 > +10%"],
  });
  assert.deepEqual(o.percentiles, [50, 99, 99.9]);
  assert.equal(o.confidence, 0.99);
  assert.equal(parseCompareFlags("a", "b", { confidence: "0.9" }).confidence, 0.9);
  assert.deepEqual(parseCompareFlags("a", "b", {}).percentiles, [50, 90, 99, 99.9]);
  for (
    const bad of [
      { percentiles: "100" },
      { percentiles: "0" },
      { percentiles: "x" },
      {
        confidence: "1",
      },
      { confidence: "40" },
      { failIf: ["p99 > fast"] },
    ]
  ) {
    assert.throws(() => parseCompareFlags("a", "b", bad), UsageError, JSON.stringify(bad));
  }
});

Deno.test("compareRuns() names differing versions, a saturated client, a missed rate and a lone JSON", () => {
  const run = (label: string, facts: CompareRun["facts"], order: "time" | "random" = "time") => {
    const blocks = timedRun(2000, 100, label.length);
    return { ...latencyRun(label, { ...blocks, order }), facts };
  };
  const c = compareRuns(
    [run("a", { options: { size: 1024 }, version: "0.1.0", deno: "2.9.6" })],
    [
      run("bb", {
        options: { size: 1024, csvPath: "elsewhere.csv" },
        version: "0.2.0",
        deno: "2.9.6",
        cpuShare: 0.97,
        cores: 2,
        rateAskedPerSec: 10_000,
        rateAchievedPerSec: 7_000,
      }, "random"),
    ],
    SETTINGS,
  );
  const text = c.warnings.join("\n");
  assert.match(
    text,
    /differ in netspeed version: "0\.1\.0" in a \(base\); "0\.2\.0" in bb \(new\)/,
  );
  assert.doesNotMatch(text, /Deno version|option size|csvPath/);
  assert.match(text, /bb \(new\): the client used 97% of 2 cores/);
  assert.match(text, /bb \(new\): the client sent 7,000\/s of the 10,000\/s asked/);
  assert.match(text, /bb \(new\): a JSON histogram keeps no time order/);
});
