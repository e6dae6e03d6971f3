/**
 * `netspeed latency` end to end: real child processes, real sockets on
 * 127.0.0.1, real CSV and JSON files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ENGINES,
  nearestRank,
  nodeEchoServer,
  readCsv,
  runCli,
  startServe,
  tempDir,
  windowEndAfterLastRowMs,
} from "./helpers.ts";

for (const engine of ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`latency --engine ${engine} against serve writes workers x connections x count rows, all successful`, async () => {
    await using dir = await tempDir();
    await using server = await startServe();
    const csvPath = join(dir.path, "lat.csv");
    const jsonPath = join(dir.path, "lat.json");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-w", "2", "-c", "3", "-n", "400", "--csv", csvPath, "--json", jsonPath],
      ...engineArgs,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const rows = await readCsv(csvPath);
    assert.equal(rows.length, 2 * 3 * 400);
    assert.ok(
      rows.every((r) => r.error === "" && Number(r.bytes) === 1024 && Number(r.rtt_us) > 0),
    );
    // Every connection ran seq 0..399 exactly once, on the worker that owns it.
    const seen = new Set(rows.map((r) => `${r.connection}/${r.seq}`));
    assert.equal(seen.size, 2400);
    for (const r of rows) assert.equal(Math.floor(Number(r.connection) / 3), Number(r.worker));

    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(summary.planned, 2400);
    assert.equal(summary.done, 2400);
    assert.equal(summary.failed, 0);
    assert.equal(summary.csv.rows, 2400);
    assert.equal(summary.run.deno, Deno.version.deno);
    assert.match(summary.run.runId, /^[0-9a-f-]{36}$/);
    assert.equal(summary.options.workers, 2);
    assert.equal(summary.options.engine, engine);
    // A count-based run's rate divides by the measuring, which ended with the last round trip.
    const endGapMs = windowEndAfterLastRowMs(summary, rows, "rtt_us");
    assert.ok(endGapMs > -0.01 && endGapMs < 5, `window ends ${endGapMs} ms after the last row`);
    // The JSON percentiles (merged HDR histograms) agree with the CSV rows to 0.1%.
    const rtts = rows.map((r) => Number(r.rtt_us)).sort((a, b) => a - b);
    for (
      const [key, p] of [["p50Us", 50], ["p90Us", 90], ["p99Us", 99], ["p999Us", 99.9]] as const
    ) {
      const fromCsv = nearestRank(rtts, p);
      const fromJson = summary.rtt[key];
      assert.ok(
        Math.abs(fromJson - fromCsv) <= fromCsv * 0.002 + 0.002,
        `${key}: ${fromJson} vs ${fromCsv}`,
      );
    }
    assert.ok(Math.abs(summary.rtt.minUs - rtts[0]) <= rtts[0] * 0.002 + 0.002);
    // The terminal summary has the per-worker table.
    assert.match(result.stdout, /^all +2,400 +0 /m);
    assert.match(result.stdout, /^worker 1 +1,200 +0 /m);
  });
}

Deno.test("latency works against an echo server netspeed did not write", async () => {
  await using server = await nodeEchoServer();
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.port}`,
    "-c",
    "2",
    "-n",
    "200",
    "--size",
    "3000",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /done 400, failed 0/);
});

for (const engine of ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`latency --engine ${engine} against a server that delays 25 ms reports at least 25 ms, within a small margin`, async () => {
    const delayMs = 25;
    await using dir = await tempDir();
    await using server = await nodeEchoServer(delayMs);
    const jsonPath = join(dir.path, "delay.json");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-c", "2", "-n", "20", "--warmup", "1", "--json", jsonPath],
      ...engineArgs,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const { rtt } = JSON.parse(await Deno.readTextFile(jsonPath));
    const delayUs = delayMs * 1000;
    // Never below the known delay (0.1% histogram precision aside) …
    assert.ok(rtt.minUs >= delayUs * 0.999, `min ${rtt.minUs} µs`);
    // … and the median within 10 ms of it: timers and loopback add little.
    assert.ok(rtt.p50Us < delayUs + 10_000, `p50 ${rtt.p50Us} µs`);
  });
}

Deno.test("latency -d measures for its duration: the wind-down after the deadline does not lower the rate", async () => {
  await using dir = await tempDir();
  await using server = await nodeEchoServer(20);
  const jsonPath = join(dir.path, "d.json");
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.port}`,
    ...["-d", "1s", "--warmup", "1", "--json", jsonPath],
  ]);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.equal(summary.measuredSeconds, 1);
  // One connection and a 20 ms echo: at most 50 round trips fit in the second.
  assert.ok(summary.done >= 40 && summary.done <= 50, `done ${summary.done}`);
  assert.equal(summary.roundTripsPerSec, summary.done);
  // The window merge reads ends at the deadline too.
  assert.equal(summary.window.endEpochMs - summary.window.startEpochMs, 1000);
});

Deno.test("latency prints full round trips: a 25 ms server is not reported as 12.5 ms", async () => {
  await using server = await nodeEchoServer(25);
  const result = await runCli(["latency", `127.0.0.1:${server.port}`, "-n", "5", "--warmup", "0"]);
  assert.equal(result.code, 0, result.stderr);
  const line = result.stdout.split("\n").find((l) => l.startsWith("all"))!;
  const p50 = parseFloat(line.trim().split(/\s+/)[6]);
  assert.ok(p50 >= 25_000, line);
});

Deno.test("latency --calibrate prints a positive floor below the measured p50 and keeps it in the JSON", async () => {
  await using dir = await tempDir();
  // An echo that holds each message 2 ms, so the run's p50 is known to lie above any loopback
  // floor. Against serve itself both figures are mostly this VM's wake-ups and can cross: with
  // 8 connections the p50 came out at 48-55 µs under an idle floor of 63-66 µs (a busy machine
  // wakes faster).
  await using server = await nodeEchoServer(2);
  const jsonPath = join(dir.path, "floor.json");
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.port}`,
    ...["-n", "200", "--calibrate", "--json", jsonPath],
  ]);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  const floor = summary.clientFloor;
  assert.ok(floor.p50Us > 0, `floor ${floor.p50Us}`);
  assert.ok(
    floor.p50Us < 2000,
    `floor ${floor.p50Us} µs: not a loopback round trip without the hold`,
  );
  assert.ok(summary.rtt.p50Us >= 2000, `p50 ${summary.rtt.p50Us} µs under the 2 ms hold`);
  assert.ok(floor.p50Us < summary.rtt.p50Us, `floor ${floor.p50Us} vs p50 ${summary.rtt.p50Us}`);
  assert.doesNotMatch(result.stdout, /within 2x of this client's floor/);
  assert.ok(floor.roundTrips >= 1000);
  assert.equal(floor.engine, "deno");
  const line = result.stdout.match(/This client's floor on this machine: ([\d.]+) µs p50/);
  assert.ok(line, result.stdout);
  assert.equal(Number(line[1]), Number(floor.p50Us.toFixed(1)));
});
