/**
 * `netspeed latency --rate` end to end: real child processes, real sockets
 * on 127.0.0.1, real CSV and JSON files.
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
  Deno.test(`latency --engine ${engine} --rate keeps the schedule: intended times, corrected and uncorrected RTTs in the CSV`, async () => {
    await using dir = await tempDir();
    await using server = await startServe();
    const csvPath = join(dir.path, "open.csv");
    const jsonPath = join(dir.path, "open.json");
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-w", "2", "-c", "2", "-n", "300", "--rate", "4000/s", "-s", "100"],
      ...["--csv", csvPath, "--json", jsonPath, "--no-progress"],
      ...engineArgs,
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const rows = await readCsv(csvPath);
    assert.equal(rows.length, 1200);
    assert.deepEqual(Object.keys(rows[0]), [
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
    assert.ok(rows.every((r) => r.error === "" && r.bytes === "100"));
    // 4 connections at 4000/s: each sends every 1 ms, connection k offset by k × 250 µs.
    const intended = new Map(rows.map((r) => [`${r.connection}/${r.seq}`, Number(r.intended_us)]));
    assert.equal(intended.size, 1200);
    const origin = intended.get("0/0")!;
    for (const [key, at] of intended) {
      const [k, seq] = key.split("/").map(Number);
      assert.ok(Math.abs(at - (origin + seq * 1000 + k * 250)) < 0.2, `${key}: ${at}`);
    }
    for (const r of rows) {
      const rtt = Number(r.rtt_us);
      const uncorrected = Number(r.rtt_uncorrected_us);
      const lateness = Number(r.start_us) - Number(r.intended_us);
      // Nothing leaves before its time, and corrected = uncorrected + how late it left.
      assert.ok(lateness >= -0.1, `sent ${lateness} µs early`);
      assert.ok(Math.abs(rtt - (uncorrected + lateness)) < 0.2, JSON.stringify(r));
    }

    const summary = JSON.parse(await Deno.readTextFile(jsonPath));
    assert.equal(summary.mode, "open-loop");
    assert.equal(summary.options.ratePerSec, 4000);
    assert.equal(summary.planned, 1200);
    assert.equal(summary.done, 1200);
    assert.deepEqual(summary.messages, { sent: 1200, unsent: 0 });
    assert.equal(summary.rate.askedPerSec, 4000);
    assert.ok(summary.rate.achievedPerSec > 0 && summary.rate.ratio <= 1.0001);
    assert.equal(summary.rttUncorrected.count, 1200);
    assert.ok(summary.rtt.p50Us >= summary.rttUncorrected.p50Us * 0.999);
    assert.equal(typeof summary.histogramUncorrected, "string");
    assert.equal(summary.options.engine, engine);
    // The window ends at the last reply, not when the Workers had closed up.
    const afterMs = windowEndAfterLastRowMs(summary, rows, "rtt_uncorrected_us");
    assert.ok(afterMs > -1 && afterMs < 5, `window ends ${afterMs} ms after the last reply`);
    // CPU time is shared over the span it was taken, which holds the window and the closing.
    const cpu = summary.clientCpu;
    assert.ok(cpu.seconds >= summary.measuredSeconds, `${cpu.seconds} s`);
    assert.ok(
      Math.abs(cpu.shareOfCores - (cpu.userSeconds + cpu.systemSeconds) / cpu.seconds / cpu.cores) <
        1e-9,
    );
    // The pacer's error in the JSON is the CSV's start_us - intended_us.
    const lateness = rows.map((r) => Number(r.start_us) - Number(r.intended_us)).sort((a, b) =>
      a - b
    );
    assert.equal(summary.sendLateness.count, 1200);
    for (const [key, p] of [["p50Us", 50], ["p99Us", 99]] as const) {
      const fromCsv = nearestRank(lateness, p);
      assert.ok(
        Math.abs(summary.sendLateness[key] - fromCsv) <= Math.abs(fromCsv) * 0.01 + 0.1,
        `${key}: ${summary.sendLateness[key]} vs ${fromCsv}`,
      );
    }
    assert.match(result.stdout, /Send times \(the pacer's error\): p50 /);
    assert.match(result.stdout, /open loop at 4,000 messages\/s, 2 workers x 2 connections/);
    assert.match(result.stdout, /^corrected +1,200 +0 /m);
    assert.match(result.stdout, /^uncorrected +1,200 +0 /m);
  });
}

for (const engine of ENGINES) {
  const engineArgs = ["--engine", engine];
  Deno.test(`latency --engine ${engine} --rate works through a plain echo server that knows nothing of the framing`, async () => {
    await using server = await nodeEchoServer();
    const result = await runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-c", "3", "-n", "200", "--rate", "3000/s", "--no-progress"],
      ...engineArgs,
    ]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /answered 600, failed 0/);
  });
}

Deno.test("latency --rate says so when the client cannot keep the rate asked", async () => {
  await using dir = await tempDir();
  await using server = await startServe();
  const jsonPath = join(dir.path, "fast.json");
  // 64 KiB messages at 1 M/s would be 64 GB/s: no loopback keeps that.
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.port}`,
    ...["-d", "300ms", "--rate", "1000000/s", "-s", "64KiB", "--json", jsonPath, "--no-progress"],
  ]);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.ok(summary.rate.ratio < 0.99, `ratio ${summary.rate.ratio}`);
  assert.ok(summary.messages.unsent > 0);
  assert.ok(summary.warnings.some((w: string) => /could not keep the rate/.test(w)));
  assert.match(
    result.stdout,
    /Warning: The client sent [\d,]+ messages\/s of the 1,000,000\/s asked/,
  );
  assert.equal(result.code, 0, result.stderr);
});

Deno.test("latency --rate refuses messages too small for the header, and bad rates", async () => {
  const small = await runCli(["latency", "127.0.0.1:9", "--rate", "100/s", "-s", "8"]);
  assert.equal(small.code, 2);
  assert.match(small.stderr, /Invalid --size "8": open-loop messages carry a 16-byte header/);
  const rate = await runCli(["latency", "127.0.0.1:9", "--rate", "fast"]);
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /Invalid --rate "fast": expected a rate such as 20000\/s/);
});
