/**
 * The pure core of `netspeed throughput`: the interval schedule, the CSV
 * rows, the tally and the summary, from hand-made batches (no sockets).
 */
import assert from "node:assert/strict";
import {
  intervalAt,
  intervalBounds,
  intervalCount,
  type IntervalSchedule,
  totalMs,
} from "../lib/throughput/schedule.ts";
import { THROUGHPUT_CSV_HEADER, throughputRows } from "../lib/throughput/csv_rows.ts";
import { ThroughputTally } from "../lib/throughput/tally.ts";
import {
  formatThroughputSummary,
  streamSpread,
  summarizeThroughput,
} from "../lib/throughput/summary.ts";
import {
  DEFAULT_THROUGHPUT_OPTIONS,
  planThroughputWorkers,
  type ThroughputOptions,
} from "../lib/throughput/options.ts";
import { newRunInfo } from "../lib/run_info.ts";
import { parseHost, parseThroughputFlags } from "../lib/cli/throughput.ts";
import type { IntervalBatch, TransferDirection } from "../lib/worker_protocol.ts";

const SCHEDULE: IntervalSchedule = { omitMs: 1500, intervalMs: 1000, durationMs: 2500 };

Deno.test("intervalBounds() cuts the omitted part and the measured part from their own starts", () => {
  assert.equal(intervalCount(SCHEDULE), 5);
  assert.equal(totalMs(SCHEDULE), 4000);
  assert.deepEqual(
    Array.from({ length: 5 }, (_, i) => intervalBounds(SCHEDULE, i)),
    [
      { index: 0, startMs: 0, endMs: 1000, omitted: true },
      { index: 1, startMs: 1000, endMs: 1500, omitted: true },
      { index: 2, startMs: 1500, endMs: 2500, omitted: false },
      { index: 3, startMs: 2500, endMs: 3500, omitted: false },
      { index: 4, startMs: 3500, endMs: 4000, omitted: false },
    ],
  );
});

Deno.test("intervalAt() finds the interval holding a time, and clamps past the end", () => {
  assert.equal(intervalAt(SCHEDULE, 0), 0);
  assert.equal(intervalAt(SCHEDULE, 999.9), 0);
  assert.equal(intervalAt(SCHEDULE, 1000), 1);
  assert.equal(intervalAt(SCHEDULE, 1499), 1);
  assert.equal(intervalAt(SCHEDULE, 1500), 2);
  assert.equal(intervalAt(SCHEDULE, 3999), 4);
  assert.equal(intervalAt(SCHEDULE, 4000), 4);
  const plain = { omitMs: 0, intervalMs: 250, durationMs: 1000 };
  assert.equal(intervalCount(plain), 4);
  assert.equal(intervalAt(plain, 0), 0);
  assert.equal(intervalAt(plain, 750), 3);
});

Deno.test("planThroughputWorkers() spreads streams round-robin and picks the service of the direction", () => {
  const options: ThroughputOptions = {
    ...DEFAULT_THROUGHPUT_OPTIONS,
    host: "127.0.0.1",
    ports: { echo: 1, discard: 2, chargen: 3 },
    streams: 5,
  };
  const up = planThroughputWorkers(options);
  assert.deepEqual(up.map((j) => j.streamIds), [[0, 2, 4], [1, 3]]);
  assert.ok(up.every((j) => j.port === 2 && j.mode === "up"));
  assert.equal(planThroughputWorkers({ ...options, direction: "down" })[0].port, 3);
  assert.equal(planThroughputWorkers({ ...options, direction: "both" })[0].port, 1);
  assert.equal(planThroughputWorkers({ ...options, streams: 1 }).length, 1);
  assert.equal(planThroughputWorkers({ ...options, workers: 5 }).length, 5);
});

/** A batch as a worker sends it: one row per (stream, direction) for one interval. */
function batch(
  workerId: number,
  interval: number,
  endMs: number,
  rows: [stream: number, direction: TransferDirection, bytes: number][],
): IntervalBatch {
  return {
    workerId,
    length: rows.length,
    stream: Uint32Array.from(rows.map((r) => r[0])),
    direction: Uint8Array.from(rows.map((r) => (r[1] === "up" ? 0 : 1))),
    interval: Uint32Array.from(rows.map(() => interval)),
    endMs: Float64Array.from(rows.map(() => endMs)),
    bytes: Float64Array.from(rows.map((r) => r[2])),
  };
}

Deno.test("throughputRows() writes one row per stream with seconds, bits per second and the omitted flag", () => {
  assert.deepEqual(
    [...THROUGHPUT_CSV_HEADER],
    [
      "stream",
      "worker",
      "direction",
      "interval_start_s",
      "interval_end_s",
      "bytes",
      "bits_per_sec",
      "omitted",
    ],
  );
  const rows = throughputRows(batch(1, 1, 1500, [[3, "down", 1_000_000]]), SCHEDULE);
  // 1 MB in the 0.5 s omitted interval 1.0–1.5 s: 16 Mbit/s.
  assert.deepEqual(rows, [[3, 1, "down", "1.000", "1.500", 1_000_000, "16000000", 1]]);
  const measured = throughputRows(batch(0, 2, 2500, [[0, "up", 125_000]]), SCHEDULE);
  assert.deepEqual(measured[0].slice(3), ["1.500", "2.500", 125_000, "1000000", 0]);
});

function options(overrides: Partial<ThroughputOptions> = {}): ThroughputOptions {
  return {
    ...DEFAULT_THROUGHPUT_OPTIONS,
    host: "127.0.0.1",
    ports: { echo: 7007, discard: 7009, chargen: 7019 },
    streams: 2,
    durationMs: 3000,
    intervalMs: 1000,
    omitMs: 1000,
    progress: "never",
    ...overrides,
  };
}

function summarize(tally: ThroughputTally, o: ThroughputOptions, interrupted = false) {
  return summarizeThroughput({
    options: o,
    run: newRunInfo(),
    interrupted,
    endMs: tally.endMs,
    streams: tally.streams(),
    intervals: tally.intervals(),
    failures: tally.failures,
    cpu: { userSeconds: 0.1, systemSeconds: 0.1, cores: 2, seconds: 4 },
    csv: null,
  });
}

Deno.test("summarizeThroughput() leaves omitted intervals out of the totals and adds streams up", () => {
  const o = options();
  const tally = new ThroughputTally({ omitMs: 1000, intervalMs: 1000, durationMs: 3000 });
  // Omitted interval: a burst that must not count.
  tally.add(batch(0, 0, 1000, [[0, "up", 9_000_000]]));
  tally.add(batch(1, 0, 1000, [[1, "up", 9_000_000]]));
  for (let i = 1; i <= 3; i++) {
    tally.add(batch(0, i, 1000 * (i + 1), [[0, "up", 1_000_000]]));
    tally.add(batch(1, i, 1000 * (i + 1), [[1, "up", 3_000_000]]));
  }
  const s = summarize(tally, o);
  assert.equal(s.measuredSeconds, 3);
  assert.deepEqual(s.totals.up, { bytes: 12_000_000, bitsPerSec: 32_000_000 });
  assert.equal(s.totals.down, null);
  assert.deepEqual(s.totals.all, s.totals.up);
  assert.deepEqual(s.streams.map((x) => [x.stream, x.worker, x.bitsPerSec]), [
    [0, 0, 8_000_000],
    [1, 1, 24_000_000],
  ]);
  assert.equal(s.intervals.length, 4);
  assert.equal(s.intervals[0].omitted, true);
  assert.deepEqual(s.intervals[1].up, {
    bytes: 4_000_000,
    bitsPerSec: 32_000_000,
    minStreamBitsPerSec: 8_000_000,
    maxStreamBitsPerSec: 24_000_000,
  });
  assert.equal(s.spread.up?.minStream, 0);
  assert.equal(s.spread.up?.maxStream, 1);
  assert.equal(s.spread.up?.cv, 0.5);
  // Stream 0 got half the mean rate of 16 Mbit/s: exactly at the line, not starved.
  assert.ok(!s.warnings.some((w) => /starved/.test(w)), s.warnings.join("\n"));
  assert.equal(s.options.workers, 2);
  assert.match(s.counting.up!, /writes handed to its socket/);
});

Deno.test("summarizeThroughput() names a starved stream and a stream that stopped moving", () => {
  const tally = new ThroughputTally({ omitMs: 0, intervalMs: 1000, durationMs: 3000 });
  for (let i = 0; i < 3; i++) {
    tally.add(batch(0, i, 1000 * (i + 1), [
      [0, "down", 10_000_000],
      [1, "down", 10_000_000],
      [2, "down", i === 0 ? 1_000_000 : 0],
    ]));
  }
  const s = summarize(tally, options({ omitMs: 0, streams: 3, direction: "down" }));
  assert.ok(s.warnings.some((w) => /^Stream 2 \(down\) got 5% of the mean stream rate/.test(w)));
  assert.ok(
    s.warnings.some((w) => /^Stream 2 \(down\) moved nothing in 2 measured intervals/.test(w)),
  );
  assert.equal(s.spread.down?.minStream, 2);
});

Deno.test("summarizeThroughput() warns when the first measured interval is inflated", () => {
  const tally = new ThroughputTally({ omitMs: 0, intervalMs: 1000, durationMs: 4000 });
  [40, 10, 10, 10].forEach((mb, i) =>
    tally.add(batch(0, i, 1000 * (i + 1), [[0, "up", mb * 1_000_000]]))
  );
  const s = summarize(tally, options({ omitMs: 0, streams: 1, durationMs: 4000 }));
  assert.ok(s.warnings.some((w) => /first measured interval \(up\) is 4\.0x/.test(w)));
});

Deno.test("summarizeThroughput() counts both directions of an echo stream apart and together", () => {
  const tally = new ThroughputTally({ omitMs: 0, intervalMs: 500, durationMs: 1000 });
  tally.add(batch(0, 0, 500, [[0, "up", 500], [0, "down", 400]]));
  tally.add(batch(0, 1, 1000, [[0, "up", 500], [0, "down", 600]]));
  const s = summarize(
    tally,
    options({ omitMs: 0, streams: 1, direction: "both", durationMs: 1000, intervalMs: 500 }),
  );
  assert.deepEqual(s.directions, ["up", "down"]);
  assert.equal(s.totals.up?.bytes, 1000);
  assert.equal(s.totals.down?.bytes, 1000);
  assert.deepEqual(s.totals.all, { bytes: 2000, bitsPerSec: 16_000 });
  const text = formatThroughputSummary(s);
  assert.match(text, /^Total up: 8\.00 kbit\/s \(1\.00 kB in 1\.00 s\)/m);
  assert.match(text, /^Total both ways: 16\.0 kbit\/s/m);
});

Deno.test("summarizeThroughput() reports a failed stream and an interrupted run", () => {
  const tally = new ThroughputTally({ omitMs: 0, intervalMs: 1000, durationMs: 3000 });
  tally.add(batch(0, 0, 1000, [[0, "up", 1000], [1, "up", 1000]]));
  tally.add(batch(0, 1, 1400, [[0, "up", 400], [1, "up", 100]]));
  tally.addFailure(0, {
    stream: 1,
    kind: "reset",
    message: "Connection reset by peer",
    atMs: 1100,
  });
  const s = summarize(tally, options({ omitMs: 0 }), true);
  assert.equal(s.measuredSeconds, 1.4);
  assert.deepEqual(s.errors, { reset: 1 });
  assert.equal(s.streams[1].failure?.atSeconds, 1.1);
  assert.ok(s.warnings.some((w) => /^Stream 1 failed after 1\.10 s: connection reset/.test(w)));
  assert.ok(s.warnings.some((w) => /^Interrupted/.test(w)));
});

Deno.test("streamSpread() is null without streams and zero-spread for equal streams", () => {
  assert.equal(streamSpread([]), null);
  const spread = streamSpread([{ stream: 0, bitsPerSec: 5 }, { stream: 1, bitsPerSec: 5 }]);
  assert.equal(spread?.cv, 0);
  assert.equal(spread?.stddevBitsPerSec, 0);
});

Deno.test("parseHost() takes a host alone, IPv6 with or without brackets, and refuses a port", () => {
  assert.equal(parseHost("127.0.0.1"), "127.0.0.1");
  assert.equal(parseHost("::1"), "::1");
  assert.equal(parseHost("[::1]"), "::1");
  assert.equal(parseHost("example.net"), "example.net");
  assert.throws(() => parseHost("127.0.0.1:7009"), /give the host alone/);
  assert.throws(() => parseHost("[::1]:7009"), /give the host alone/);
  assert.throws(() => parseHost(" "), /the host is missing/);
});

Deno.test("parseThroughputFlags() turns flags into options with units in milliseconds and bytes", () => {
  const options = parseThroughputFlags("10.0.0.2", {
    direction: "both",
    streams: "4",
    duration: "10s",
    interval: "500ms",
    omit: "2s",
    blockSize: "64KiB",
    echoPort: "1",
    discardPort: "2",
    chargenPort: "3",
    timeout: "1s",
    progress: false,
  });
  assert.deepEqual(options, {
    host: "10.0.0.2",
    ports: { echo: 1, discard: 2, chargen: 3 },
    direction: "both",
    streams: 4,
    workers: undefined,
    durationMs: 10_000,
    intervalMs: 500,
    omitMs: 2000,
    blockBytes: 65_536,
    timeoutMs: 1000,
    csvPath: undefined,
    jsonPath: undefined,
    progress: "never",
  });
});
