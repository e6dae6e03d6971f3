import assert from "node:assert/strict";
import * as hdr from "hdr-histogram-js";
import { createHistogram, latencyStats, recordUs } from "../lib/histogram.ts";
import {
  HlogFormatError,
  hlogHeaderLines,
  hlogIntervalLine,
  HlogRecording,
  IntervalRecorder,
  parseHlog,
  readHlog,
} from "../lib/hlog/mod.ts";
import { findHdrJava, javaLogTotals } from "./hdr_java.ts";
import { tempDir } from "./helpers.ts";

const START_MS = 1_764_254_672_123.4;

/** A spread of values with a few outliers, deterministic. */
function sampleUs(i: number): number {
  return 50 + (i % 97) * 3.3 + (i % 1000 === 0 ? 9000 : 0);
}

Deno.test("IntervalRecorder cuts wall-clock-aligned intervals, clipped to the window", () => {
  const recorder = new IntervalRecorder({ intervalMs: 1000, startEpochMs: START_MS });
  for (let i = 0; i < 3000; i++) recorder.recordUs("a", START_MS + i, 100);
  recorder.recordUs("b", START_MS + 2500, 100);
  recorder.recordUs("a", START_MS + 10, NaN); // a failure: not in any histogram
  const first = recorder.takeEndedBefore(START_MS + 1877);
  assert.deepEqual(
    first.map((i) => [i.tag, i.startEpochMs, i.endEpochMs, i.histogram.totalCount]),
    [
      ["a", START_MS, 1_764_254_673_000, 877],
      ["a", 1_764_254_673_000, 1_764_254_674_000, 1000],
    ],
  );
  // A late sample for a written interval comes back in a later take.
  recorder.recordUs("a", START_MS + 5, 100);
  const rest = recorder.takeAll(START_MS + 3000);
  assert.deepEqual(rest.map((i) => [i.tag, i.startEpochMs, i.endEpochMs, i.histogram.totalCount]), [
    ["a", START_MS, 1_764_254_673_000, 1],
    ["a", 1_764_254_674_000, 1_764_254_675_000, 1000],
    ["b", 1_764_254_674_000, 1_764_254_675_000, 1],
    ["a", 1_764_254_675_000, START_MS + 3000, 123],
  ]);
  assert.equal(recorder.openCount, 0);
});

Deno.test("hlogHeaderLines() and hlogIntervalLine() write HistogramLogWriter's v1.3 format", () => {
  const header = hlogHeaderLines({ startEpochMs: START_MS, comments: ["made by a test"] });
  assert.deepEqual(header, [
    "#[made by a test]",
    "#[Histogram log format version 1.3]",
    "#[StartTime: 1764254672.123 (seconds since epoch), 2025-11-27T14:44:32.123Z]",
    "#[BaseTime: 1764254672.123 (seconds since epoch)]",
    '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"',
  ]);
  const histogram = createHistogram();
  recordUs(histogram, 250);
  const line = hlogIntervalLine(
    {
      tag: "node 1,x/latency",
      startEpochMs: START_MS + 877,
      endEpochMs: START_MS + 1877,
      histogram,
    },
    START_MS,
  );
  const [tag, start, length, max, payload] = line.split(",");
  assert.deepEqual([tag, start, length, max], [
    "Tag=node_1_x/latency",
    "0.877",
    "1.000",
    "250.000",
  ]);
  assert.equal(hdr.decodeFromCompressedBase64(payload, 64, false).totalCount, 1);
});

Deno.test("HlogRecording writes finished intervals while recording; readers get every sample back", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/run.hlog`;
  const log = HlogRecording.open({
    path,
    intervalMs: 1000,
    lateMs: 500,
    comments: ["netspeed test"],
  });
  log.begin(START_MS);
  const all = createHistogram();
  for (let i = 0; i < 5000; i++) {
    log.recordUs("n1/latency", START_MS + i, sampleUs(i));
    recordUs(all, sampleUs(i));
  }
  log.flushDue(START_MS + 3500);
  // What a crash at this point would leave: the header and the intervals already over.
  const early = await readHlog(path);
  assert.deepEqual(early.intervals.map((i) => i.histogram.totalCount), [877, 1000, 1000]);
  log.finish(START_MS + 5000);

  const read = await readHlog(path);
  assert.equal(read.version, "1.3");
  assert.equal(read.startEpochMs, 1_764_254_672_123);
  assert.deepEqual(read.intervals.map((i) => i.tag), Array(6).fill("n1/latency"));
  const merged = createHistogram();
  for (const interval of read.intervals) merged.add(interval.histogram);
  // The encoding keeps counts per bucket, not the exact extremes: min and max
  // come back as their bucket's bounds, within HDR precision (0.1%).
  const { minUs, maxUs, p9999Us: _, ...back } = latencyStats(merged);
  const { minUs: minAll, maxUs: maxAll, p9999Us: __, ...exact } = latencyStats(all);
  assert.deepEqual(back, exact);
  assert.ok(Math.abs(minUs - minAll) <= minAll * 1e-3 && Math.abs(maxUs - maxAll) <= maxAll * 1e-3);

  // hdr-histogram-js's own reader agrees.
  const reader = new hdr.HistogramLogReader(await Deno.readTextFile(path), 64);
  let jsCount = 0;
  for (let h = reader.nextIntervalHistogram(); h; h = reader.nextIntervalHistogram()) {
    assert.equal(h.tag, "n1/latency");
    jsCount += h.totalCount;
  }
  assert.equal(jsCount, 5000);
});

Deno.test("HdrHistogram's Java HistogramLogProcessor reads our log with the same count, p50, p99", async (t) => {
  const java = findHdrJava();
  if ("skip" in java) {
    console.warn(`Skipped: ${java.skip}`);
    return;
  }
  await using dir = await tempDir();
  const path = `${dir.path}/run.hlog`;
  const log = HlogRecording.open({ path, intervalMs: 1000, lateMs: 0 });
  log.begin(START_MS);
  const all = createHistogram();
  for (let i = 0; i < 5000; i++) {
    log.recordUs("n1/latency", START_MS + i, sampleUs(i));
    recordUs(all, sampleUs(i));
  }
  log.finish(START_MS + 5000);
  const ours = latencyStats(all);
  const theirs = await javaLogTotals(java.jar, path, "n1/latency");
  await t.step(`Java printed ${theirs.row}`, () => {});
  assert.equal(theirs.intervals, 6);
  assert.equal(theirs.count, ours.count);
  assert.equal(theirs.p50, ours.p50Us);
  assert.equal(theirs.p99, ours.p99Us);
});

Deno.test("parseHlog() names the file and the line of a truncated or malformed log", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/run.hlog`;
  const log = HlogRecording.open({ path, intervalMs: 1000, lateMs: 0 });
  log.begin(START_MS);
  for (let i = 0; i < 2000; i++) log.recordUs("t", START_MS + i, sampleUs(i));
  log.finish(START_MS + 2000);
  const text = await Deno.readTextFile(path);
  const lines = text.split("\n");
  const lastLine = lines.length - 1; // 1-based number of the last non-empty line

  const cut = text.slice(0, text.length - 30);
  assert.throws(
    () => parseHlog(cut, "cut.hlog"),
    (e: Error) =>
      e instanceof HlogFormatError &&
      e.message.startsWith(`Histogram log "cut.hlog", line ${lastLine}: `) &&
      e.message.includes("truncated?") && !e.message.includes("\n"),
  );
  const cases: [string, RegExp][] = [
    [text.replace(",0.877,", ",zero,"), /line 5: interval length "zero" is not a number/],
    [text.replace("Tag=t,0.000,", "Tag=t,"), /line 5: expected an interval .* found 3 field/],
    [text.replace("Tag=t,0.000,0.877,", "Tag=t,0.000,0.877,x,"), /found 5 field/],
    [text.replace(/HISTF[^\n]{12}/, "HISTF!!!!!!!!!!!!"), /line 5: the compressed histogram/],
    [text.replace("format version 1.3", "format version 2.0"), /line 1: unsupported .*"2.0"/],
    ["", /Histogram log "bad.hlog": the file is empty$/],
    ['{"kind":"latency"}\n', /line 1: expected an interval/],
    ["# just a comment\n", /bad.hlog": not an HdrHistogram interval log/],
  ];
  for (const [bad, expected] of cases) {
    assert.throws(() => parseHlog(bad, "bad.hlog"), expected);
  }
  await assert.rejects(
    readHlog(`${dir.path}/missing.hlog`),
    /Cannot read histogram log ".*missing.hlog"/,
  );
});
