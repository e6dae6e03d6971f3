/**
 * The pure core of `netspeed connect`: CSV rows, the plan and the summary,
 * from hand-made batches and histograms (no sockets).
 */
import assert from "node:assert/strict";
import { CONNECT_CSV_HEADER, connectRows } from "../lib/connect/csv_rows.ts";
import {
  type ConnectOptions,
  DEFAULT_CONNECT_OPTIONS,
  planConnectWorkers,
  plannedAttempts,
} from "../lib/connect/options.ts";
import { formatConnectSummary, summarizeConnect } from "../lib/connect/summary.ts";
import { createHistogram, recordUs } from "../lib/histogram.ts";
import { zeroErrorCounts } from "../lib/error_counts.ts";
import { newRunInfo } from "../lib/run_info.ts";
import { errorCode } from "../lib/worker_protocol.ts";

const OPTIONS: ConnectOptions = {
  ...DEFAULT_CONNECT_OPTIONS,
  target: { host: "localhost", port: 7443 },
  workers: 2,
  count: 10,
  tls: true,
  progress: "never",
};

Deno.test("connectRows() writes one row per attempt, empty time and the kind on failure", () => {
  assert.deepEqual([...CONNECT_CSV_HEADER], ["worker", "seq", "start_us", "connect_us", "error"]);
  const rows = connectRows({
    workerId: 1,
    length: 2,
    seq: Uint32Array.from([0, 1]),
    startUs: Float64Array.from([10, 95.25]),
    connectUs: Float64Array.from([61.5, NaN]),
    error: Uint8Array.from([0, errorCode("refused")]),
  });
  assert.deepEqual(rows, [[1, 0, "10.0", "61.500", ""], [1, 1, "95.3", "", "refused"]]);
});

Deno.test("planConnectWorkers() connects to the resolved address and verifies TLS against the name typed", () => {
  const jobs = planConnectWorkers(OPTIONS, "127.0.0.1", ["PEM"], 1234);
  assert.equal(jobs.length, 2);
  assert.deepEqual(jobs[1], {
    workerId: 1,
    host: "127.0.0.1",
    serverName: "localhost",
    port: 7443,
    count: 10,
    durationMs: undefined,
    timeoutMs: 5000,
    tls: { caCerts: ["PEM"] },
    runStartEpochMs: 1234,
    engine: "deno",
  });
  assert.equal(planConnectWorkers({ ...OPTIONS, engine: "ffi" }, "::1", [], 0)[0].engine, "ffi");
  assert.equal(plannedAttempts(OPTIONS), 20);
  assert.equal(plannedAttempts({ ...OPTIONS, count: undefined, durationMs: 1000 }), undefined);
  assert.equal(planConnectWorkers({ ...OPTIONS, tls: false }, "::1", [], 0)[0].tls, null);
});

Deno.test("summarizeConnect() rates successes over the run and names a worker that gave up", () => {
  const histogram = createHistogram();
  for (const us of [50, 60, 70, 80]) recordUs(histogram, us);
  const errors = zeroErrorCounts();
  errors.timeout = 3;
  const summary = summarizeConnect({
    options: OPTIONS,
    run: newRunInfo(),
    address: "127.0.0.1",
    planned: 20,
    interrupted: false,
    measuredSeconds: 2,
    merged: histogram,
    perWorker: [
      { histogram, failed: 0, gaveUpAfterFailures: null },
      { histogram: createHistogram(), failed: 3, gaveUpAfterFailures: 3 },
    ],
    errors,
    cpu: { userSeconds: 0, systemSeconds: 0, cores: 2, seconds: 2 },
    csv: null,
  });
  assert.equal(summary.measures, "tls");
  assert.equal(summary.target, "localhost:7443");
  assert.equal(summary.address, "127.0.0.1:7443");
  assert.equal(summary.attempts, 7);
  assert.equal(summary.done, 4);
  assert.equal(summary.failed, 3);
  assert.equal(summary.connectionsPerSec, 2);
  assert.ok(Math.abs(summary.connectTime.p50Us - 60) < 0.1);
  assert.ok(summary.warnings.includes("Worker 1 gave up after 3 failures in a row"));
  const text = formatConnectSummary(summary);
  assert.match(text, /^Failures by kind: timeout 3$/m);
  assert.match(text, /^worker 1 +0 +3 +- +- /m);
});
