/**
 * The run-result model and its loader: summaries of every kind carry the
 * shared fields, and the loader reads files, folders and log streams, and
 * names the file and the fault of a bad one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHistogram, decodeHistogram, recordUs } from "../lib/histogram.ts";
import { newRunInfo } from "../lib/run_info.ts";
import { zeroErrorCounts } from "../lib/error_counts.ts";
import { summarizeLatency } from "../lib/latency/summary.ts";
import { buildRunResult, lateStartWarning, startTiming } from "../lib/results/run_result.ts";
import {
  BadResultError,
  loadResults,
  resultsFromStream,
  toRunResult,
} from "../lib/results/load_result.ts";
import { parseStartAt } from "../lib/cli/fleet_flags.ts";
import { UsageError } from "../lib/errors.ts";
import { tempDir } from "./helpers.ts";

function latencySummary(nodeId: string, values: number[]) {
  const merged = createHistogram();
  for (const v of values) recordUs(merged, v);
  const run = newRunInfo();
  return summarizeLatency({
    options: {
      target: { host: "127.0.0.1", port: 7 },
      workers: 1,
      connections: 1,
      count: values.length,
      sizeBytes: 16,
      warmup: 0,
      timeoutMs: 1000,
      verify: true,
      progress: "never",
      nodeId,
    },
    run,
    planned: values.length,
    interrupted: false,
    measuredSeconds: 1,
    timing: {
      askedStartEpochMs: run.startEpochMs + 100,
      startEpochMs: run.startEpochMs + 125,
      endEpochMs: run.startEpochMs + 1125,
    },
    originEpochMs: run.startEpochMs,
    merged,
    perWorker: [{ histogram: merged, failed: 0 }],
    errors: zeroErrorCounts(),
    cpu: { userSeconds: 0, systemSeconds: 0, cores: 2, seconds: 1 },
    csv: null,
  });
}

Deno.test("summarizeLatency() builds the shared run result beside its own fields", () => {
  const s = latencySummary("node-a", [100, 200, 300]);
  assert.equal(s.kind, "latency");
  assert.equal(s.command, "latency");
  assert.equal(s.node.id, "node-a");
  assert.equal(s.counts.ok, 3);
  assert.equal(s.done, 3);
  assert.equal(s.histograms.rtt, s.histogram);
  assert.equal(decodeHistogram(s.histograms.rtt).totalCount, 3);
  assert.equal(s.start.lateMs, 25);
  assert.match(s.warnings.join("\n"), /Measuring began 25\.0 ms after --start-at/);
  assert.equal(s.window.startEpochMs - s.window.originEpochMs, 125);
});

Deno.test("startTiming() and lateStartWarning() warn only above 10 ms", () => {
  assert.equal(startTiming({ askedStartEpochMs: null, startEpochMs: 5, endEpochMs: 9 }).lateMs, 0);
  assert.equal(startTiming({ askedStartEpochMs: 10, startEpochMs: 5, endEpochMs: 9 }).lateMs, 0);
  assert.equal(lateStartWarning(10), undefined);
  assert.match(lateStartWarning(10.5) ?? "", /10\.5 ms after --start-at/);
  const r = buildRunResult({
    kind: "connect",
    mode: "tcp",
    run: newRunInfo(),
    nodeId: undefined,
    options: {},
    timing: { askedStartEpochMs: null, startEpochMs: 1, endEpochMs: 2 },
    interrupted: false,
    counts: { ok: 0, failed: 0, byOutcome: {} },
    histograms: {},
    files: {},
    warnings: [],
  });
  assert.equal(r.node.id, r.run.hostname, "the node id defaults to the host name");
});

Deno.test("resultsFromStream() picks summaries out of interleaved log lines", () => {
  const a = latencySummary("a", [10]);
  const b = latencySummary("b", [20, 30]);
  const text = [
    "netspeed latency 127.0.0.1:7: closed-loop ping-pong",
    JSON.stringify(a),
    "Warning: something",
    `2026-11-27T10:00:00Z [pod/client-1] ${JSON.stringify(b)}`,
    '{"not": "ours"}',
    "",
  ].join("\n");
  const results = resultsFromStream(text, "-");
  assert.deepEqual(results.map((r) => r.node.id), ["a", "b"]);
  assert.equal(results[1].counts.ok, 2);
});

Deno.test("resultsFromStream() names the line of a summary cut short", () => {
  const line = JSON.stringify(latencySummary("a", [10]));
  assert.throws(
    () => resultsFromStream(`hello\n${line.slice(0, 200)}\n`, "-"),
    (e: Error) =>
      e instanceof BadResultError && /^Cannot use result "-:2": .*cut short/.test(e.message),
  );
  assert.throws(
    () => resultsFromStream("only logs\n", "pods.log"),
    /Cannot use result "pods\.log": no netspeed JSON summary in it/,
  );
});

Deno.test("toRunResult() refuses JSON that is not netspeed's and upgrades older summaries", () => {
  assert.throws(
    () => toRunResult({ hello: 1 }, "x.json"),
    /Cannot use result "x\.json": it is not a netspeed JSON summary/,
  );
  assert.throws(
    () => toRunResult({ command: "ping", run: { tool: "netspeed", startEpochMs: 1 } }, "y.json"),
    /unknown kind of run "ping"/,
  );
  const old = toRunResult({
    command: "connect",
    run: { tool: "netspeed", startEpochMs: 1000 },
    done: 5,
    failed: 1,
    errors: { refused: 1 },
    measuredSeconds: 2,
    histogram: "abc",
    csv: { path: "c.csv", rows: 6 },
    options: {},
    warnings: [],
  }, "old.json");
  assert.equal(old.kind, "connect");
  assert.deepEqual(old.counts, { ok: 5, failed: 1, byOutcome: { refused: 1 } });
  assert.equal(old.window.endEpochMs, 3000);
  assert.equal(old.histograms.connect, "abc");
});

Deno.test("loadResults() reads a folder, a JSON file and names a bad one", async () => {
  await using dir = await tempDir();
  const a = latencySummary("a", [10, 20]);
  await Deno.writeTextFile(join(dir.path, "a.json"), JSON.stringify(a, null, 2));
  await Deno.writeTextFile(
    join(dir.path, "a.csv"),
    "worker,connection,seq,start_us,rtt_us,bytes,error\n0,0,0,1,10,16,\n0,0,1,2,20,16,\n",
  );
  await Deno.writeTextFile(
    join(dir.path, "lone.csv"),
    "worker,connection,seq,start_us,rtt_us,bytes,error\n0,0,0,5,30,16,\n0,0,1,9,,16,timeout\n",
  );
  const results = await loadResults([dir.path]);
  assert.deepEqual(results.map((r) => r.result.node.id), ["a", "lone"]);
  assert.equal(results[0].csvPath, null, "a.json names no CSV (csv: null)");
  assert.equal(results[1].fromCsvOnly, true);
  assert.deepEqual(results[1].result.counts, { ok: 1, failed: 1, byOutcome: { timeout: 1 } });

  const bad = join(dir.path, "bad.json");
  await Deno.writeTextFile(bad, '{"tool": "iperf3"}');
  await assert.rejects(
    () => loadResults([bad]),
    (e: Error) => e instanceof BadResultError && e.message.includes(`"${bad}"`),
  );
  await assert.rejects(
    () => loadResults([join(dir.path, "missing.json")]),
    (e: Error) => e instanceof UsageError && /no such file/.test(e.message),
  );
});

Deno.test("parseStartAt() takes RFC 3339 and +delays, refuses more than a day ahead", () => {
  const now = Date.parse("2026-12-01T10:00:00Z");
  assert.equal(parseStartAt("2026-12-01T10:00:05Z", now), now + 5000);
  assert.equal(parseStartAt("2026-12-01T11:00:05.5+01:00", now), now + 5500);
  assert.equal(parseStartAt("+10s", now), now + 10_000);
  assert.equal(
    parseStartAt("2026-12-01T09:00:00Z", now),
    now - 3600_000,
    "the past: start at once",
  );
  assert.throws(() => parseStartAt("tomorrow", now), /Invalid --start-at "tomorrow": expected/);
  assert.throws(() => parseStartAt("2026-12-01T10:00:00", now), /expected an RFC 3339/);
  assert.throws(() => parseStartAt("+25h", now), /more than a day ahead/);
  assert.throws(() => parseStartAt("2026-12-03T10:00:00Z", now), /more than a day ahead/);
});
