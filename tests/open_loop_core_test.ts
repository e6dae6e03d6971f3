/**
 * The pure core of the open loop: schedule arithmetic, message framing,
 * plans, CSV rows and the summary's rate warning.
 */
import assert from "node:assert/strict";
import { createHistogram, recordUs } from "../lib/histogram.ts";
import { OPEN_LOOP_CSV_HEADER, openLoopRows } from "../lib/latency/csv_rows.ts";
import {
  FRAME_HEADER_BYTES,
  MessageSplitter,
  readFrameHeader,
  writeFrameHeader,
} from "../lib/latency/frame.ts";
import { OpenLoopSampleBuffer } from "../lib/latency/open_loop_samples.ts";
import {
  openLoopPlanned,
  openLoopWindowMs,
  planOpenLoopWorkers,
} from "../lib/latency/open_loop_plan.ts";
import { formatOpenLoopSummary, summarizeOpenLoop } from "../lib/latency/open_loop_summary.ts";
import type { LatencyOptions } from "../lib/latency/options.ts";
import {
  intendedOffsetMs,
  lastDueSeq,
  messagesInWindow,
  rateFigures,
  sendCutoffMs,
} from "../lib/latency/schedule.ts";
import { zeroErrorCounts } from "../lib/error_counts.ts";
import { newRunInfo } from "../lib/run_info.ts";
import { errorCode } from "../lib/worker_protocol.ts";

const OPTIONS: LatencyOptions = {
  target: { host: "127.0.0.1", port: 7007 },
  mode: "open-loop",
  ratePerSec: 1000,
  transport: "tcp",
  workers: 2,
  connections: 2,
  count: 100,
  sizeBytes: 64,
  warmup: 0,
  timeoutMs: 5000,
  verify: true,
  progress: "never",
};

Deno.test("intendedOffsetMs() interleaves the connections evenly over the rate", () => {
  const s = { ratePerSec: 1000, totalConnections: 4 };
  // Global message j is due at j ms; connection k sends j = i·4 + k.
  const times = [0, 1, 2, 3].flatMap((k) => [0, 1, 2].map((i) => intendedOffsetMs(s, k, i)));
  assert.deepEqual(times.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(intendedOffsetMs(s, 1, 2), 9);
});

Deno.test("lastDueSeq() is the inverse of intendedOffsetMs()", () => {
  const s = { ratePerSec: 3000, totalConnections: 3 };
  for (let k = 0; k < 3; k++) {
    assert.equal(lastDueSeq(s, k, intendedOffsetMs(s, k, 0) - 0.001), -1);
    for (let i = 0; i < 500; i++) {
      const at = intendedOffsetMs(s, k, i);
      assert.equal(lastDueSeq(s, k, at), i, `connection ${k} seq ${i} at ${at}`);
      assert.equal(lastDueSeq(s, k, intendedOffsetMs(s, k, i + 1) - 1e-6), i);
    }
  }
});

Deno.test("messagesInWindow() counts the messages due before the window ends", () => {
  const s = { ratePerSec: 1000, totalConnections: 3 };
  // 10 ms at 1000/s: global messages 0..9; connection 0 gets 0,3,6,9, 1 gets 1,4,7, 2 gets 2,5,8.
  assert.deepEqual([0, 1, 2].map((k) => messagesInWindow(s, k, 10)), [4, 3, 3]);
  assert.deepEqual([0, 1, 2].map((k) => messagesInWindow(s, k, 9.5)), [4, 3, 3]);
  assert.deepEqual([0, 1, 2].map((k) => messagesInWindow(s, k, 0.5)), [1, 0, 0]);
});

Deno.test("sendCutoffMs() allows 10% of the window, at least 50 ms", () => {
  assert.equal(sendCutoffMs(10_000), 11_000);
  assert.equal(sendCutoffMs(100), 150);
});

Deno.test("rateFigures() gives the asked rate to a client that kept every appointment", () => {
  // 1000 messages at 1000/s: the last is due at 999 ms.
  const onTime = rateFigures(1000, 1000, 999);
  assert.ok(Math.abs(onTime.achievedPerSec - 1000) < 1e-9);
  assert.equal(onTime.askedPerSec, 1000);
  // The same messages, the last one sent a whole second late: half the rate.
  const late = rateFigures(1000, 1000, 1999);
  assert.ok(Math.abs(late.ratio - 0.5) < 1e-9);
  assert.equal(rateFigures(1000, 0, 0).achievedPerSec, 0);
});

Deno.test("writeFrameHeader() and readFrameHeader() round-trip the header", () => {
  const message = new Uint8Array(40).fill(7);
  writeFrameHeader(message.subarray(8, 32), {
    connection: 513,
    seq: 4_000_000_000,
    intendedUs: 1234.5,
  });
  assert.deepEqual(readFrameHeader(message.subarray(8, 32)), {
    connection: 513,
    seq: 4_000_000_000,
    intendedUs: 1234.5,
  });
  assert.equal(message[8 + FRAME_HEADER_BYTES], 7);
  assert.equal(message[7], 7);
});

Deno.test("MessageSplitter cuts a stream into messages whatever the chunking", () => {
  const size = 10;
  const stream = Uint8Array.from({ length: 57 }, (_, i) => i);
  for (const chunk of [1, 3, 7, 10, 11, 57]) {
    const splitter = new MessageSplitter(size);
    const messages: number[][] = [];
    for (let offset = 0; offset < stream.length; offset += chunk) {
      splitter.feed(stream.subarray(offset, offset + chunk), (m) => messages.push([...m]));
    }
    assert.equal(messages.length, 5, `chunk ${chunk}`);
    messages.forEach((m, i) =>
      assert.deepEqual(m, [...stream.subarray(i * size, i * size + size)])
    );
    assert.equal(splitter.pendingBytes, 7);
  }
});

Deno.test("planOpenLoopWorkers() gives every connection its slot and count", () => {
  const jobs = planOpenLoopWorkers(OPTIONS, 5);
  assert.deepEqual(jobs.map((j) => j.connectionIds), [[0, 1], [2, 3]]);
  assert.deepEqual(jobs.map((j) => j.counts), [[100, 100], [100, 100]]);
  assert.ok(jobs.every((j) => j.totalConnections === 4 && j.ratePerSec === 1000));
  // 400 messages at 1000/s fill 400 ms; sends stop 50 ms after.
  assert.equal(openLoopWindowMs(OPTIONS), 400);
  assert.equal(jobs[0].sendCutoffMs, 450);
  assert.equal(openLoopPlanned(OPTIONS), 400);
  const timed = { ...OPTIONS, count: undefined, durationMs: 10.5 };
  assert.deepEqual(planOpenLoopWorkers(timed, 5).map((j) => j.counts), [[3, 3], [3, 2]]);
  assert.equal(openLoopPlanned(timed), 11);
});

Deno.test("openLoopRows() appends intended_us and rtt_uncorrected_us to the latency columns", () => {
  assert.deepEqual([...OPEN_LOOP_CSV_HEADER], [
    "worker",
    "connection",
    "seq",
    "start_us",
    "rtt_us",
    "bytes",
    "error",
    "intended_us",
    "rtt_uncorrected_us",
  ]);
  const buffer = new OpenLoopSampleBuffer(1, 4);
  buffer.push({
    connection: 2,
    seq: 0,
    startUs: 1005,
    intendedUs: 1000,
    rttUs: 55,
    rttUncorrectedUs: 50,
    bytes: 64,
    error: 0,
  });
  buffer.push({
    connection: 2,
    seq: 1,
    startUs: 2000,
    intendedUs: 2000,
    rttUs: NaN,
    rttUncorrectedUs: NaN,
    bytes: 0,
    error: errorCode("timeout"),
  });
  assert.deepEqual(openLoopRows(buffer.take().batch), [
    [1, 2, 0, "1005.0", "55.000", 64, "", "1000.0", "50.000"],
    [1, 2, 1, "2000.0", "", 0, "timeout", "2000.0", ""],
  ]);
});

Deno.test("summarizeOpenLoop() warns when the client could not keep the asked rate", () => {
  const histogram = createHistogram();
  for (let i = 0; i < 400; i++) recordUs(histogram, 100 + i);
  const tally = {
    options: OPTIONS,
    run: newRunInfo(),
    planned: 400,
    interrupted: false,
    measuredSeconds: 0.8,
    merged: histogram,
    mergedUncorrected: histogram,
    perWorker: [{ histogram, failed: 0 }],
    errors: zeroErrorCounts(),
    sent: 400,
    unsent: 0,
    udp: null,
    cpu: { userSeconds: 0.1, systemSeconds: 0.1, cores: 2, seconds: 0.8 },
    csv: null,
  };
  // On time: the last of 400 messages is due at 399 ms.
  const kept = summarizeOpenLoop({ ...tally, lastSendMs: 399.01 });
  assert.equal(kept.mode, "open-loop");
  assert.ok(kept.rate!.ratio >= 0.99);
  assert.ok(!kept.warnings.some((w) => /could not keep the rate/.test(w)));
  // The last one left at 800 ms: about half the rate.
  const behind = summarizeOpenLoop({ ...tally, lastSendMs: 799 });
  assert.ok(Math.abs(behind.rate!.achievedPerSec - 500) < 1);
  assert.ok(behind.warnings.some((w) => /sent 500 messages\/s of the 1,000\/s asked/.test(w)));
  assert.match(formatOpenLoopSummary(behind), /Rate: asked 1,000\/s, achieved 500\/s \(50\.00%\)/);
  assert.match(formatOpenLoopSummary(behind), /^uncorrected +400 /m);
});

Deno.test("summarizeOpenLoop() reports the pacer's send-time error and warns when it distorts the schedule", () => {
  const rtts = createHistogram();
  for (let i = 0; i < 400; i++) recordUs(rtts, 100 + i);
  const tally = {
    options: OPTIONS,
    run: newRunInfo(),
    planned: 400,
    interrupted: false,
    measuredSeconds: 0.4,
    merged: rtts,
    mergedUncorrected: rtts,
    perWorker: [{ histogram: rtts, failed: 0 }],
    errors: zeroErrorCounts(),
    sent: 400,
    unsent: 0,
    lastSendMs: 399.01,
    udp: null,
    cpu: { userSeconds: 0.01, systemSeconds: 0.01, cores: 2, seconds: 0.4 },
    csv: null,
  };
  // 1,000/s over 4 connections: each sends every 4,000 µs; 10% of that is 400 µs.
  const punctual = createHistogram();
  for (let i = 0; i < 400; i++) recordUs(punctual, 2 + (i % 20));
  const good = summarizeOpenLoop({ ...tally, mergedSendLateness: punctual });
  assert.equal(good.sendLateness!.count, 400);
  assert.ok(good.sendLateness!.p99Us < 25);
  assert.ok(!good.warnings.some((w) => /intended time/.test(w)));
  assert.match(formatOpenLoopSummary(good), /Send times \(the pacer's error\): p50 /);
  const late = createHistogram();
  for (let i = 0; i < 400; i++) recordUs(late, i < 380 ? 5 : 1000);
  const bad = summarizeOpenLoop({ ...tally, mergedSendLateness: late });
  assert.ok(bad.warnings.some((w) => /after their intended time \(p99\), more than 10%/.test(w)));
});
