import assert from "node:assert/strict";
import { createHistogram, recordUs } from "../lib/histogram.ts";
import { LATENCY_CSV_HEADER, latencyRows } from "../lib/latency/csv_rows.ts";
import { type LatencyOptions, plannedRoundTrips, planWorkers } from "../lib/latency/options.ts";
import { SampleBuffer } from "../lib/latency/sample_buffer.ts";
import { zeroErrorCounts } from "../lib/error_counts.ts";
import { formatLatencySummary, summarizeLatency } from "../lib/latency/summary.ts";
import { newRunInfo } from "../lib/run_info.ts";
import { errorCode } from "../lib/worker_protocol.ts";

const OPTIONS: LatencyOptions = {
  target: { host: "127.0.0.1", port: 7007 },
  workers: 4,
  connections: 2,
  count: 5000,
  sizeBytes: 1024,
  warmup: 10,
  timeoutMs: 5000,
  verify: true,
  progress: "never",
};

Deno.test("planWorkers() gives each worker its own block of connection ids", () => {
  const jobs = planWorkers(OPTIONS, 123);
  assert.equal(jobs.length, 4);
  assert.deepEqual(jobs.map((j) => j.connectionIds), [[0, 1], [2, 3], [4, 5], [6, 7]]);
  for (const job of jobs) {
    assert.equal(job.count, 5000);
    assert.equal(job.runStartEpochMs, 123);
    assert.equal(job.host, "127.0.0.1");
  }
  assert.equal(plannedRoundTrips(OPTIONS), 4 * 2 * 5000);
  assert.equal(plannedRoundTrips({ ...OPTIONS, count: undefined, durationMs: 1000 }), undefined);
});

Deno.test("latencyRows() writes one row per sample with units and error kinds", () => {
  const buffer = new SampleBuffer(3, 4);
  buffer.push({ connection: 6, seq: 0, startUs: 1500.25, rttUs: 87.6543, bytes: 1024, error: 0 });
  buffer.push({
    connection: 7,
    seq: 12,
    startUs: 2000,
    rttUs: NaN,
    bytes: 0,
    error: errorCode("timeout"),
  });
  const { batch } = buffer.take();
  assert.deepEqual([...LATENCY_CSV_HEADER], [
    "worker",
    "connection",
    "seq",
    "start_us",
    "rtt_us",
    "bytes",
    "error",
  ]);
  assert.deepEqual(latencyRows(batch), [
    [3, 6, 0, "1500.3", "87.654", 1024, ""],
    [3, 7, 12, "2000.0", "", 0, "timeout"],
  ]);
});

Deno.test("SampleBuffer.push() reports full at capacity and take() starts afresh", () => {
  const buffer = new SampleBuffer(0, 2);
  const row = { connection: 0, seq: 0, startUs: 0, rttUs: 1, bytes: 1, error: 0 };
  assert.equal(buffer.push(row), false);
  assert.equal(buffer.push({ ...row, seq: 1 }), true);
  const { batch, transfer } = buffer.take();
  assert.equal(batch.length, 2);
  assert.equal(transfer.length, 6);
  assert.equal(buffer.length, 0);
});

Deno.test("SampleBuffer.add() fills the same columns as push(), and reports full alike", () => {
  const pushed = new SampleBuffer(1, 3);
  const added = new SampleBuffer(1, 3);
  const rows = [
    { connection: 4, seq: 9, startUs: 12.5, rttUs: 55.125, bytes: 1024, error: 0 },
    { connection: 5, seq: 10, startUs: 70, rttUs: NaN, bytes: 0, error: errorCode("reset") },
    { connection: 4, seq: 11, startUs: 99.75, rttUs: 60, bytes: 1024, error: 0 },
  ];
  for (const [i, r] of rows.entries()) {
    const full = i === rows.length - 1;
    assert.equal(pushed.push(r), full);
    assert.equal(added.add(r.connection, r.seq, r.startUs, r.rttUs, r.bytes, r.error), full);
  }
  assert.deepEqual(latencyRows(added.take().batch), latencyRows(pushed.take().batch));
  assert.equal(added.length, 0);
});

Deno.test("summarizeLatency() counts failures, rates and warns about thin percentiles", () => {
  const w0 = createHistogram();
  const w1 = createHistogram();
  for (let i = 0; i < 600; i++) recordUs(w0, 100);
  for (let i = 0; i < 400; i++) recordUs(w1, 300);
  const merged = createHistogram();
  merged.add(w0);
  merged.add(w1);
  const errors = { ...zeroErrorCounts(), reset: 2, timeout: 1 };
  const summary = summarizeLatency({
    options: { ...OPTIONS, workers: 2, connections: 1, count: 600 },
    run: newRunInfo(),
    planned: 1200,
    interrupted: false,
    measuredSeconds: 2,
    merged,
    perWorker: [{ histogram: w0, failed: 0 }, { histogram: w1, failed: 3 }],
    errors,
    cpu: { userSeconds: 0.5, systemSeconds: 0.5, cores: 2, seconds: 2 },
    csv: null,
  });
  assert.equal(summary.done, 1000);
  assert.equal(summary.failed, 3);
  assert.equal(summary.roundTripsPerSec, 500);
  assert.equal(summary.workers[1].failed, 3);
  assert.equal(summary.workers[0].roundTripsPerSec, 300);
  assert.equal(summary.target, "127.0.0.1:7007");
  assert.ok(
    summary.warnings.some((w) => w.startsWith("p99.9, p99.99 rest on fewer than 10 samples")),
  );
  assert.ok(summary.warnings.some((w) => w.includes("Only 1,003 of 1,200 planned")));
  assert.equal(summary.clientCpu.shareOfCores, 0.25);

  const text = formatLatencySummary(summary);
  assert.match(text, /done 1,000, failed 3/);
  assert.match(text, /Failures by kind: reset 2, timeout 1/);
  assert.match(text, /full round trip, not half/);
  assert.match(text, /worker 1 +400 +3 /);
  // Columns line up: every table row is as wide as its header or narrower.
  const table = text.split("\n").filter((l) => /^(all|worker|\s+done)/.test(l));
  assert.equal(table.length, 4);
});

Deno.test("summarizeLatency() warns when the client ran out of CPU", () => {
  const histogram = createHistogram();
  for (let i = 0; i < 100_000; i++) recordUs(histogram, 50);
  const summary = summarizeLatency({
    options: OPTIONS,
    run: newRunInfo(),
    planned: undefined,
    interrupted: false,
    measuredSeconds: 1,
    merged: histogram,
    perWorker: [{ histogram, failed: 0 }],
    errors: zeroErrorCounts(),
    cpu: { userSeconds: 1.2, systemSeconds: 0.7, cores: 2, seconds: 1 },
    csv: null,
  });
  assert.ok(
    summary.warnings.some((w) => w.includes("may have run out of CPU")),
    String(summary.warnings),
  );
});
