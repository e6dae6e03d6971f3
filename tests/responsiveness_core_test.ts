/**
 * The pure core of `netspeed responsiveness`: the draft's trimmed mean and
 * RPM, the window the loaded RPM aggregates, CSV rows and the summary.
 */
import assert from "node:assert/strict";
import { type PhasedSample, responsivenessRow } from "../lib/responsiveness/csv_rows.ts";
import { DEFAULT_RESPONSIVENESS_OPTIONS } from "../lib/responsiveness/options.ts";
import {
  roundTripsPerMinute,
  rpmWindow,
  trimmedMean,
  weightedRoundTripMs,
} from "../lib/responsiveness/rpm.ts";
import {
  formatResponsivenessSummary,
  rpmOver,
  summarizeResponsiveness,
} from "../lib/responsiveness/summary.ts";
import { newRunInfo } from "../lib/run_info.ts";

Deno.test("trimmedMean() drops what lies above the 95th percentile", () => {
  const values = Array.from({ length: 19 }, (_, i) => i + 1).concat([1000]);
  // 20 values: the 95th percentile is the 19th; the outlier goes.
  assert.equal(trimmedMean(values), 10);
  assert.equal(trimmedMean([5]), 5);
  assert.ok(Number.isNaN(trimmedMean([])));
  // 100 values 1..100: keep 1..95.
  assert.equal(trimmedMean(Array.from({ length: 100 }, (_, i) => 100 - i)), 48);
});

Deno.test("roundTripsPerMinute() weighs foreign probes half and self probes half", () => {
  // 1/4 (10 + 30) + 1/2 (20) = 20 ms: 3000 round trips per minute.
  const tm = { tcpForeignMs: 10, echoForeignMs: 30, echoSelfMs: 20 };
  assert.equal(weightedRoundTripMs(tm), 20);
  assert.equal(roundTripsPerMinute(tm), 3000);
  // Every probe at 1 ms: 60,000 RPM, as for a path with a 1 ms round trip.
  assert.equal(roundTripsPerMinute({ tcpForeignMs: 1, echoForeignMs: 1, echoSelfMs: 1 }), 60_000);
  assert.equal(roundTripsPerMinute({ tcpForeignMs: NaN, echoForeignMs: 1, echoSelfMs: 1 }), null);
});

Deno.test("rpmWindow() takes the last 4 s of the load, never its first second", () => {
  assert.deepEqual(rpmWindow(3000, 11_000), { fromMs: 7000, toMs: 11_000 });
  assert.deepEqual(rpmWindow(3000, 8000), { fromMs: 4000, toMs: 8000 });
  assert.deepEqual(rpmWindow(0, 2000), { fromMs: 400, toMs: 2000 });
});

function sample(
  phase: "idle" | "loaded",
  kind: PhasedSample["kind"],
  startUs: number,
  rttUs: number,
  error = "",
): PhasedSample {
  return { phase, kind, connection: 0, seq: 0, startUs, rttUs, error };
}

Deno.test("rpmOver() aggregates only the successful samples inside the window", () => {
  const samples = [
    sample("loaded", "self", 500, 99_000),
    sample("loaded", "self", 1500, 4000),
    sample("loaded", "foreign_connect", 1500, 2000),
    sample("loaded", "foreign_echo", 1600, 6000),
    sample("loaded", "foreign_echo", 1700, NaN, "timeout"),
  ];
  const figure = rpmOver(samples, 1000, 2000);
  assert.deepEqual(figure.trimmedMeansMs, { tcpForeignMs: 2, echoForeignMs: 6, echoSelfMs: 4 });
  assert.equal(figure.rpm, 15_000);
  assert.deepEqual(figure.samples, { self: 1, foreign_connect: 1, foreign_echo: 1 });
});

Deno.test("responsivenessRow() writes phase, probe and µs", () => {
  assert.deepEqual(responsivenessRow(sample("loaded", "foreign_echo", 1234.56, 789.0123)), [
    "loaded",
    "foreign_echo",
    0,
    0,
    "1234.6",
    "789.012",
    "",
  ]);
  assert.deepEqual(responsivenessRow(sample("idle", "self", 1, NaN, "reset")), [
    "idle",
    "self",
    0,
    0,
    "1.0",
    "",
    "reset",
  ]);
});

Deno.test("summarizeResponsiveness() reports both phases, the RPMs and the load", () => {
  const samples: PhasedSample[] = [];
  // Idle 0–1 s: every probe 1 ms. Loaded 1–6 s: 1 ms connects, 100 ms echoes.
  for (let t = 0; t < 6_000_000; t += 20_000) {
    const phase = t < 1_000_000 ? "idle" : "loaded";
    const echoUs = phase === "idle" ? 1000 : 100_000;
    samples.push(sample(phase, "foreign_connect", t, 1000));
    samples.push(sample(phase, "foreign_echo", t, echoUs));
    samples.push(sample(phase, "self", t, echoUs));
  }
  const summary = summarizeResponsiveness({
    options: { ...DEFAULT_RESPONSIVENESS_OPTIONS, host: "127.0.0.1", idleMs: 1000, loadedMs: 5000 },
    run: newRunInfo(),
    target: "127.0.0.1",
    interrupted: false,
    samples,
    loadStartUs: 1_000_000,
    loadEndUs: 6_000_000,
    liveStreams: 8,
    failedStreams: 0,
    loadIntervals: [{
      index: 0,
      startMs: 0,
      endMs: 5000,
      omitted: false,
      directions: new Map([
        ["up", { bytes: 625_000_000, streamBitsPerSec: new Map() }],
        ["down", { bytes: 1_250_000_000, streamBitsPerSec: new Map() }],
      ]),
    }],
    skipped: { self: 0, foreign: 0 },
    csv: null,
  });
  assert.equal(summary.idle.responsiveness.rpm, 60_000);
  // 1/4 (1 + 100) + 1/2 (100) = 75.25 ms.
  assert.ok(Math.abs(summary.loaded!.responsiveness.rpm! - 60_000 / 75.25) < 1e-6);
  assert.equal(summary.loaded!.responsiveness.fromUs, 2_000_000);
  assert.equal(summary.idle.probes.self.rtt.count, 50);
  assert.equal(summary.loaded!.probes.self.rtt.count, 250);
  assert.equal(summary.load.upBitsPerSec, 1e9);
  assert.equal(summary.load.downBitsPerSec, 2e9);
  assert.deepEqual(summary.warnings, []);
  const text = formatResponsivenessSummary(summary);
  assert.match(
    text,
    /Responsiveness: idle 60,000 RPM \(1\.000 ms\), loaded 797 RPM \(75\.250 ms\)/,
  );
  assert.match(text, /^loaded +self \(echo\) +250 +0 /m);
  assert.match(text, /Load: up 1\.00 Gbit\/s, down 2\.00 Gbit\/s/);
});
