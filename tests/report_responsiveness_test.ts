/**
 * The report's reading of responsiveness runs: the CSV told apart from a
 * latency CSV, rows streamed into per-phase figures, the load taken from
 * the JSON beside it (or guessed from the phases without one), and the RPM
 * recomputed from the rows matching the one the run computed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFolderReport } from "../lib/commands/report.ts";
import { detectCsvLayout } from "../lib/report/csv_kind.ts";
import { loadRun, type ResponsivenessRun } from "../lib/report/load_run.ts";
import { LogHistogram } from "../lib/report/log_histogram.ts";
import { runLimits } from "../lib/report/options.ts";
import { seededRandom } from "../lib/report/reservoir.ts";
import { trimmedMean } from "../lib/responsiveness/rpm.ts";
import { tempDir } from "./helpers.ts";
import {
  syntheticConnectCsv,
  syntheticResponsiveness,
  syntheticThroughputCsv,
} from "./report_fixtures.ts";

const SHAPE = { idleS: 3, loadedS: 6, idleUs: 200, loadedUs: 40_000, failEvery: 23 };

/** Writes `csv` (and `json` beside it unless null) and reads it as a responsiveness run. */
async function readRun(
  dir: string,
  name: string,
  csv: string,
  json: unknown | null,
  limits = runLimits(1),
): Promise<ResponsivenessRun> {
  const path = join(dir, `${name}.csv`);
  await Deno.writeTextFile(path, csv);
  if (json !== null) await Deno.writeTextFile(join(dir, `${name}.json`), JSON.stringify(json));
  const run = await loadRun(path, name, limits);
  assert.equal(run.kind, "responsiveness");
  return run as ResponsivenessRun;
}

/** The ms-precision truth of the synthetic run's load window. */
function loadOf(json: Record<string, unknown>): { startUs: number; endUs: number } {
  return json.load as { startUs: number; endUs: number };
}

Deno.test("detectCsvLayout() tells a responsiveness CSV from a latency CSV by its probe column", () => {
  const header = ["error", "rtt_us", "start_us", "seq", "connection", "probe", "phase", "extra"];
  const layout = detectCsvLayout(header);
  assert.ok(typeof layout !== "string");
  assert.equal(layout.kind, "responsiveness");
  assert.equal(layout.index.phase, 6);
  assert.equal(layout.index.rtt_us, 1);
  assert.deepEqual(layout.ignored, ["extra"]);
  const latency = detectCsvLayout(["worker", "connection", "start_us", "rtt_us", "error"]);
  assert.ok(typeof latency !== "string" && latency.kind === "latency");
  assert.match(
    detectCsvLayout(["probe", "start_us", "rtt_us", "error"]) as string,
    /responsiveness CSV header lacks column "phase"/,
  );
});

Deno.test("loadRun() splits a responsiveness run by phase and probe, with the load from its JSON", async () => {
  await using dir = await tempDir();
  const { csv, json } = syntheticResponsiveness(SHAPE);
  const run = await readRun(dir.path, "rrul", csv, json);
  const d = run.data;
  const rows = csv.trim().split("\n").slice(1).map((l) => l.split(","));
  assert.equal(d.probes, rows.length);
  assert.equal(run.malformed.count, 0);
  assert.deepEqual(run.notes, []);
  for (const cell of d.cells) {
    const mine = rows.filter((r) => r[0] === cell.phase && r[1] === cell.probe);
    assert.equal(cell.stats.count + cell.failed, mine.length, `${cell.phase} ${cell.probe}`);
    assert.equal(cell.failed, mine.filter((r) => r[6] !== "").length);
  }
  const failedConnects = d.cells.find((c) =>
    c.phase === "loaded" && c.probe === "foreign_connect"
  )!;
  assert.ok(failedConnects.failed > 5);
  assert.deepEqual(failedConnects.errors, { timeout: failedConnects.failed });
  assert.equal(d.failures, failedConnects.failed);
  assert.equal(d.failedSample.length, d.failures);
  // Bufferbloat: the loaded median is far above the idle one, as the rows were made.
  const p50 = (phase: string) => d.cells.find((c) => c.phase === phase && c.probe === "self")!;
  assert.ok(Math.abs(p50("idle").stats.p50Us / 200 - 1) < 0.1, `${p50("idle").stats.p50Us}`);
  assert.ok(p50("loaded").stats.p50Us > 30_000, `${p50("loaded").stats.p50Us}`);

  // The load: exact from the JSON, its intervals moved onto the run's timeline.
  const load = loadOf(json);
  assert.deepEqual(d.load, { startS: load.startUs / 1e6, endS: load.endUs / 1e6, source: "json" });
  const intervals = d.loadFacts!.intervals;
  assert.equal(intervals.length, 24);
  assert.equal(intervals[0].startS, load.startUs / 1e6);
  assert.ok(Math.abs(intervals[23].endS - load.endUs / 1e6) < 1e-9);
  assert.equal(d.loadFacts!.downBitsPerSec, 94e6);

  // The table shows the run's RPM; the rows give the same (loaded exactly, idle within 0.6%).
  const given = json as { idle: { responsiveness: { rpm: number } } } & {
    loaded: { responsiveness: { rpm: number; fromUs: number } };
  };
  assert.equal(d.rpm.idle?.source, "json");
  assert.equal(d.rpm.idle?.rpm, given.idle.responsiveness.rpm);
  assert.equal(d.rpm.loaded?.rpm, given.loaded.responsiveness.rpm);
  assert.equal(d.rpm.loaded?.fromS, given.loaded.responsiveness.fromUs / 1e6);
  assert.ok(Math.abs(d.csvRpm.loaded!.rpm! / given.loaded.responsiveness.rpm - 1) < 1e-9);
  assert.ok(Math.abs(d.csvRpm.idle!.rpm! / given.idle.responsiveness.rpm - 1) < 0.006);
  assert.ok(d.rpm.idle!.rpm! > 30 * d.rpm.loaded!.rpm!);
});

Deno.test("loadRun() without the JSON guesses the load from the phases and computes the RPM from the rows", async () => {
  await using dir = await tempDir();
  const { csv, json } = syntheticResponsiveness(SHAPE);
  const run = await readRun(dir.path, "alone", csv, null);
  const d = run.data;
  assert.equal(run.meta.json, "absent");
  const load = loadOf(json);
  assert.equal(d.load?.source, "csv");
  // Probes start every 20 ms: the first and last loaded ones are within 20 ms of the load's ends.
  assert.ok(d.load!.startS >= load.startUs / 1e6 && d.load!.startS < load.startUs / 1e6 + 0.021);
  assert.ok(d.load!.endS <= load.endUs / 1e6 && d.load!.endS > load.endUs / 1e6 - 0.021);
  assert.equal(d.loadFacts, null);
  assert.equal(d.rpm.loaded?.source, "csv");
  const truth = (json.loaded as { responsiveness: { rpm: number } }).responsiveness.rpm;
  assert.ok(Math.abs(d.rpm.loaded!.rpm! / truth - 1) < 0.03, `${d.rpm.loaded!.rpm} vs ${truth}`);
});

Deno.test("loadRun() gives the same RPM whatever the order of the rows, and keeps a bounded sample", async () => {
  await using dir = await tempDir();
  const { csv, json } = syntheticResponsiveness(SHAPE);
  const [header, ...rows] = csv.trim().split("\n");
  const random = seededRandom(99);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const limits = { ...runLimits(1), sampleCapacity: 100 };
  const ordered = await readRun(dir.path, "ordered", csv, json);
  const shuffled = await readRun(
    dir.path,
    "shuffled",
    [header, ...rows].join("\n") + "\n",
    json,
    limits,
  );
  assert.deepEqual(shuffled.data.csvRpm, ordered.data.csvRpm);
  assert.deepEqual(shuffled.data.cells, ordered.data.cells);
  assert.equal(shuffled.data.sample.length, 100);
  assert.equal(shuffled.data.sampleOf, ordered.data.successes);
  // About 60 time bins of each probe kind over the 9 s run, whatever its length.
  const selfBins = shuffled.data.bins.filter((b) => b.probe === "self");
  assert.ok(selfBins.length >= 30 && selfBins.length <= 120, `${selfBins.length} bins`);
  assert.deepEqual(shuffled.data.bins, ordered.data.bins);
});

Deno.test("loadRun() skips malformed responsiveness rows and notes a JSON RPM the rows contradict", async () => {
  await using dir = await tempDir();
  const { csv, json } = syntheticResponsiveness(SHAPE);
  const lines = csv.trim().split("\n");
  lines.splice(5, 0, "busy,self,0,1,1000.0,90.000,", "idle,ping,0,1,1000.0,90.000,");
  lines.splice(9, 0, "idle,self,0,1,1000.0,,");
  const loaded = json.loaded as { responsiveness: { rpm: number } };
  loaded.responsiveness.rpm *= 2;
  const run = await readRun(dir.path, "odd", lines.join("\n") + "\n", json);
  assert.equal(run.malformed.count, 3);
  assert.deepEqual(run.malformed.examples.map((e) => [e.line, e.reason]), [
    [6, 'phase "busy" is neither idle nor loaded'],
    [7, 'probe "ping" is not one of self, foreign_connect, foreign_echo'],
    [10, "rtt_us (empty) is not a duration and error is empty"],
  ]);
  assert.equal(run.notes.length, 1);
  assert.match(run.notes[0], /The JSON summary gives a loaded RPM of \d+, the CSV \d+/);
});

Deno.test("LogHistogram.trimmedMeanUs() is the trimmed mean of the values within 0.6%", () => {
  const random = seededRandom(4);
  const values = Array.from({ length: 5000 }, () => 50 * Math.exp(3 * random()));
  const h = new LogHistogram();
  for (const v of values) h.add(v);
  for (const percentile of [50, 95, 100]) {
    const exact = trimmedMean(values, percentile);
    assert.ok(Math.abs(h.trimmedMeanUs(percentile) / exact - 1) < 0.006, `p${percentile}`);
  }
  assert.ok(Number.isNaN(new LogHistogram().trimmedMeanUs(95)));
});

Deno.test("writeFolderReport() draws a bench folder's four kinds, responsiveness included", async () => {
  await using dir = await tempDir();
  const { csv, json } = syntheticResponsiveness(SHAPE);
  await Deno.writeTextFile(join(dir.path, "responsiveness.csv"), csv);
  await Deno.writeTextFile(join(dir.path, "responsiveness.json"), JSON.stringify(json));
  await Deno.writeTextFile(join(dir.path, "throughput.csv"), syntheticThroughputCsv(2, 6, 5e8));
  await Deno.writeTextFile(join(dir.path, "connect.csv"), syntheticConnectCsv(2, 200, 70));
  const result = await writeFolderReport(dir.path);
  assert.deepEqual(result.skipped, []);
  assert.deepEqual(result.runs.map((r) => r.kind), ["throughput", "connect", "responsiveness"]);
  const html = await Deno.readTextFile(result.outputPath);
  assert.match(html, /<section id="responsiveness">/);
  assert.match(html, /id="responsiveness-time-0"/);
  assert.match(html, /id="responsiveness-distribution-0"/);
  assert.match(html, /<b>responsiveness<\/b>: idle <b>[\d,]+ RPM<\/b>, loaded <b>[\d,]+ RPM<\/b>/);
});
