import assert from "node:assert/strict";
import {
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  latencyStats,
  mergeHistograms,
  recordUs,
} from "../lib/histogram.ts";

/** Within HdrHistogram's 3-significant-digit error (0.1%), plus 1 ns of rounding. */
function assertClose(actual: number, expected: number, label: string) {
  const tolerance = expected * 0.001 + 0.001;
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label}: ${actual} vs ${expected}`);
}

Deno.test("latencyStats() gives nearest-rank percentiles of a known data set", () => {
  const histogram = createHistogram();
  // 1..10000 µs: p50 = 5000, p90 = 9000, p99 = 9900, p99.9 = 9990, p99.99 = 9999.
  for (let us = 1; us <= 10_000; us++) recordUs(histogram, us);
  const stats = latencyStats(histogram);
  assert.equal(stats.count, 10_000);
  assertClose(stats.minUs, 1, "min");
  assertClose(stats.maxUs, 10_000, "max");
  assertClose(stats.meanUs, 5000.5, "mean");
  assertClose(stats.p50Us, 5000, "p50");
  assertClose(stats.p90Us, 9000, "p90");
  assertClose(stats.p99Us, 9900, "p99");
  assertClose(stats.p999Us, 9990, "p99.9");
  assertClose(stats.p9999Us, 9999, "p99.99");
  assertClose(stats.stddevUs, 2886.75, "stddev");
});

Deno.test("latencyStats() keeps sub-microsecond resolution", () => {
  const histogram = createHistogram();
  for (let i = 0; i < 100; i++) recordUs(histogram, 12.345);
  const stats = latencyStats(histogram);
  assertClose(stats.p50Us, 12.345, "p50");
});

Deno.test("mergeHistograms() equals one histogram of all samples, not an average", () => {
  const fast = createHistogram();
  const slow = createHistogram();
  const all = createHistogram();
  for (let i = 0; i < 9000; i++) {
    recordUs(fast, 100);
    recordUs(all, 100);
  }
  for (let i = 0; i < 1000; i++) {
    recordUs(slow, 5000);
    recordUs(all, 5000);
  }
  const merged = latencyStats(mergeHistograms([fast, slow]));
  const expected = latencyStats(all);
  assert.deepEqual(merged, expected);
  // An average of the two p99s would say 2550 µs; the run's p99 is 5000 µs.
  assertClose(merged.p99Us, 5000, "p99");
  assertClose(merged.p50Us, 100, "p50");
});

Deno.test("encodeHistogram() and decodeHistogram() keep every count and percentile", () => {
  const histogram = createHistogram();
  for (let i = 1; i <= 5000; i++) recordUs(histogram, i * 0.75);
  const before = latencyStats(histogram);
  const after = latencyStats(decodeHistogram(encodeHistogram(histogram)));
  assert.equal(after.count, before.count);
  // The encoding keeps buckets, not the exact extremes: equal to 0.1%.
  for (
    const key of [
      "minUs",
      "meanUs",
      "p50Us",
      "p90Us",
      "p99Us",
      "p999Us",
      "p9999Us",
      "maxUs",
    ] as const
  ) {
    assertClose(after[key], before[key], key);
  }
});

Deno.test("latencyStats() flags percentiles with fewer than 10 samples beyond them", () => {
  const histogram = createHistogram();
  for (let i = 0; i < 1000; i++) recordUs(histogram, 50);
  assert.deepEqual(latencyStats(histogram).untrustedPercentiles, ["p99.9", "p99.99"]);
  for (let i = 0; i < 99_000; i++) recordUs(histogram, 50);
  assert.deepEqual(latencyStats(histogram).untrustedPercentiles, []);
});

Deno.test("latencyStats() of an empty histogram is all zeros", () => {
  const stats = latencyStats(createHistogram());
  assert.equal(stats.count, 0);
  assert.equal(stats.p99Us, 0);
  assert.equal(stats.maxUs, 0);
});
