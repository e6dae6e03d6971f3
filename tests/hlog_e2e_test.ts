import assert from "node:assert/strict";
import { join } from "node:path";
import { createHistogram, latencyStats, mergeHistograms, recordUs } from "../lib/histogram.ts";
import { hlogTags, readHlog } from "../lib/hlog/mod.ts";
import { findHdrJava, javaLogTotals, sameHdrValueUs } from "./hdr_java.ts";
import { readCsv, runCli, spawnCli, startServe, tempDir } from "./helpers.ts";

const HOST_TAG = (kind: string) => `${Deno.hostname().replace(/[\s,]/g, "_")}/${kind}`;

Deno.test("latency --hlog: HdrHistogram's Java reader reports the run's count, p50 and p99", async (t) => {
  await using dir = await tempDir();
  await using server = await startServe();
  const hlogPath = join(dir.path, "rtt.hlog");
  const jsonPath = join(dir.path, "rtt.json");
  const csvPath = join(dir.path, "rtt.csv");
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.port}`,
    ...["-c", "2", "-d", "2500ms", "--hlog", hlogPath, "--hlog-interval", "500ms"],
    ...["--json", jsonPath, "--csv", csvPath, "--no-progress"],
  ]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.match(result.stdout, /^HdrHistogram log: .*rtt\.hlog \(\d+ intervals\)$/m);
  assert.deepEqual(summary.options.hlog, { path: hlogPath, intervalMs: 500 });

  // Our reader: intervals aligned on 500 ms of the wall clock, holding every round trip.
  const log = await readHlog(hlogPath);
  assert.deepEqual(hlogTags(log), [HOST_TAG("latency")]);
  assert.ok(log.intervals.length >= 5 && log.intervals.length <= 8, `${log.intervals.length}`);
  for (const interval of log.intervals.slice(1)) assert.equal(interval.startEpochMs % 500, 0);
  const merged = mergeHistograms(log.intervals.map((i) => i.histogram));
  assert.equal(merged.totalCount, summary.done);
  assert.equal(latencyStats(merged).p50Us, summary.rtt.p50Us);
  // Every CSV row falls in the interval its start time names.
  const rows = (await readCsv(csvPath)).filter((r) => r.error === "");
  // The CSV's time zero is the window's origin; `run.startEpochMs` is read a moment earlier (and
  // more than 2 ms earlier on a loaded machine: it failed so once).
  const runStart = summary.window.originEpochMs;
  assert.equal(rows.length, summary.done);
  const firstStart = Math.min(...log.intervals.map((i) => i.startEpochMs));
  const lastEnd = Math.max(...log.intervals.map((i) => i.endEpochMs));
  for (const r of [rows[0], rows[rows.length - 1]]) {
    const at = runStart + Number(r.start_us) / 1000;
    assert.ok(at >= firstStart - 2 && at <= lastEnd + 2, `${at} outside ${firstStart}–${lastEnd}`);
  }

  const java = findHdrJava();
  if ("skip" in java) {
    console.warn(`Skipped the Java reader: ${java.skip}`);
    return;
  }
  const totals = await javaLogTotals(java.jar, hlogPath, HOST_TAG("latency"));
  await t.step(
    `Java: ${totals.row} | netspeed: count ${summary.done}, p50 ${summary.rtt.p50Us} µs, p99 ${summary.rtt.p99Us} µs`,
    () => {},
  );
  assert.equal(totals.intervals, log.intervals.length);
  assert.equal(totals.count, summary.done);
  assert.ok(sameHdrValueUs(totals.p50, summary.rtt.p50Us), `${totals.p50}`);
  assert.ok(sameHdrValueUs(totals.p99, summary.rtt.p99Us), `${totals.p99}`);
});

Deno.test("connect --hlog: the Java reader agrees with the connect summary", async (t) => {
  await using dir = await tempDir();
  await using server = await startServe();
  const hlogPath = join(dir.path, "connect.hlog");
  const jsonPath = join(dir.path, "connect.json");
  const result = await runCli([
    "connect",
    `127.0.0.1:${server.port}`,
    ...["-w", "2", "-n", "300", "--hlog", hlogPath, "--json", jsonPath, "--no-progress"],
  ]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  const log = await readHlog(hlogPath);
  assert.deepEqual(hlogTags(log), [HOST_TAG("connect")]);
  const merged = mergeHistograms(log.intervals.map((i) => i.histogram));
  assert.equal(merged.totalCount, 600);
  const java = findHdrJava();
  if ("skip" in java) {
    console.warn(`Skipped the Java reader: ${java.skip}`);
    return;
  }
  const totals = await javaLogTotals(java.jar, hlogPath, HOST_TAG("connect"));
  await t.step(
    `Java: ${totals.row} | netspeed: count ${summary.done}, p50 ${summary.connectTime.p50Us} µs, p99 ${summary.connectTime.p99Us} µs`,
    () => {},
  );
  assert.equal(totals.count, summary.done);
  assert.ok(sameHdrValueUs(totals.p50, summary.connectTime.p50Us), `${totals.p50}`);
  assert.ok(sameHdrValueUs(totals.p99, summary.connectTime.p99Us), `${totals.p99}`);
});

Deno.test("responsiveness --hlog: one tag per phase and probe, every successful probe in it", async () => {
  await using dir = await tempDir();
  await using server = spawnCli([
    "serve",
    ...["--port", "0", "--discard-port", "0", "--chargen-port", "0"],
  ]);
  const port = async (service: string) =>
    (await server.waitFor(new RegExp(`^${service} listening on 127\\.0\\.0\\.1:(\\d+)`)))[1];
  const [echo, discard, chargen] = [
    await port("echo"),
    await port("discard"),
    await port("chargen"),
  ];
  const hlogPath = join(dir.path, "rpm.hlog");
  const csvPath = join(dir.path, "rpm.csv");
  const result = await runCli([
    "responsiveness",
    "127.0.0.1",
    ...["--echo-port", echo, "--discard-port", discard, "--chargen-port", chargen],
    ...["--idle", "1s", "--loaded", "1s", "-P", "1", "--hlog", hlogPath, "--csv", csvPath],
    "--no-progress",
  ]);
  assert.ok(result.code === 0 || result.code === 1, result.stderr + result.stdout);
  const log = await readHlog(hlogPath);
  const rows = (await readCsv(csvPath)).filter((r) => r.error === "");
  const byTag = new Map<string, ReturnType<typeof createHistogram>>();
  for (const r of rows) {
    const tag = HOST_TAG(`responsiveness/${r.phase}/${r.probe}`);
    if (!byTag.has(tag)) byTag.set(tag, createHistogram());
    recordUs(byTag.get(tag)!, Number(r.rtt_us));
  }
  assert.deepEqual(hlogTags(log).sort(), [...byTag.keys()].sort());
  for (const [tag, fromCsv] of byTag) {
    const fromLog = mergeHistograms(
      log.intervals.filter((i) => i.tag === tag).map((i) => i.histogram),
    );
    assert.equal(fromLog.totalCount, fromCsv.totalCount, tag);
    // Unclamped: the log keeps the maximum's bucket, not its exact value.
    assert.equal(fromLog.getValueAtPercentile(99), fromCsv.getValueAtPercentile(99), tag);
  }
});

Deno.test("latency --hlog keeps the finished intervals of a killed run", async () => {
  await using dir = await tempDir();
  await using server = await startServe();
  const hlogPath = join(dir.path, "killed.hlog");
  // --timeout 300ms: intervals are written 800 ms after they end.
  await using client = spawnCli([
    "latency",
    `127.0.0.1:${server.port}`,
    ...["-d", "20s", "--timeout", "300ms", "--hlog", hlogPath, "--hlog-interval", "250ms"],
    "--no-progress",
  ]);
  const deadline = Date.now() + 15_000;
  let intervals = 0;
  while (intervals < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const text = await Deno.readTextFile(hlogPath).catch(() => "");
    intervals = text.split("\n").filter((l) => l.startsWith("Tag=")).length;
  }
  client.process.kill("SIGKILL");
  await client.wait();
  const log = await readHlog(hlogPath);
  assert.ok(log.intervals.length >= 3, `${log.intervals.length} intervals survived`);
  assert.ok(log.intervals.every((i) => i.histogram.totalCount > 0));
});

Deno.test("--hlog-interval without --hlog, or a bad one, is a usage error", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["latency", "127.0.0.1:9", "--hlog-interval", "2s"],
      /Option --hlog-interval "2s" needs --hlog FILE/,
    ],
    [
      ["connect", "127.0.0.1:9", "--hlog", "x.hlog", "--hlog-interval", "soon"],
      /Invalid --hlog-interval "soon"/,
    ],
    [
      ["latency", "127.0.0.1:9", "--hlog", "x.hlog", "--hlog-interval", "0.5ms"],
      /whole number of milliseconds/,
    ],
  ];
  for (const [args, expected] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, expected);
    assert.equal(result.stderr.trim().split("\n").length, 1);
  }
  await assert.rejects(Deno.stat(join(Deno.cwd(), "x.hlog")));
});
