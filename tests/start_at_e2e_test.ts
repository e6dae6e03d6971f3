/**
 * `--start-at` on `connect` and `responsiveness` (latency and throughput
 * are covered by the merge tests): each connects first, then measures
 * from the instant asked, and says how late it was.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv, runCli, spawnCli, tempDir } from "./helpers.ts";

/** `serve` with echo, discard and chargen on free ports. */
async function startAll() {
  const server = spawnCli(["serve", "--port", "0", "--discard-port", "0", "--chargen-port", "0"]);
  const port = async (service: string) =>
    Number(
      (await server.waitFor(new RegExp(`^${service} listening on 127\\.0\\.0\\.1:(\\d+)`)))[1],
    );
  return Object.assign(server, {
    echo: await port("echo"),
    discard: await port("discard"),
    chargen: await port("chargen"),
  });
}

/** The first sample's start on the wall clock, from the CSV and the JSON's window. */
async function firstSampleMs(csvPath: string, summary: { window: { originEpochMs: number } }) {
  const rows = await readCsv(csvPath);
  return summary.window.originEpochMs + Math.min(...rows.map((r) => Number(r.start_us))) / 1000;
}

Deno.test("connect and responsiveness start measuring at --start-at", async () => {
  await using server = await startAll();
  await using dir = await tempDir();
  const at = new Date(Date.now() + 4000).toISOString();
  const [connect, responsiveness] = await Promise.all([
    runCli([
      "connect",
      `127.0.0.1:${server.echo}`,
      ...["-n", "50", "--start-at", at, "--node-id", "c1", "--json", "-"],
      ...["--csv", join(dir.path, "connect.csv"), "--no-progress"],
    ]),
    runCli([
      "responsiveness",
      "127.0.0.1",
      ...["--echo-port", String(server.echo), "--discard-port", String(server.discard)],
      ...["--chargen-port", String(server.chargen), "--idle", "500ms", "--loaded", "1s", "-P", "1"],
      ...["--start-at", at, "--node-id", "r1", "--json", "-"],
      ...["--csv", join(dir.path, "responsiveness.csv"), "--no-progress"],
    ]),
  ]);
  const askedMs = Date.parse(at);
  for (
    const [run, csv, id] of [
      [connect, "connect.csv", "c1"],
      [responsiveness, "responsiveness.csv", "r1"],
    ] as const
  ) {
    assert.ok(run.code === 0 || run.code === 1, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.node.id, id);
    assert.equal(summary.start.askedEpochMs, askedMs);
    assert.ok(summary.start.lateMs < 50, `${id} late by ${summary.start.lateMs} ms`);
    const first = await firstSampleMs(join(dir.path, csv), summary);
    assert.ok(
      first - askedMs >= -1 && first - askedMs <= 50,
      `${id}: first sample ${(first - askedMs).toFixed(2)} ms after --start-at`,
    );
  }
});

Deno.test("a node ready after --start-at starts at once and records how late it was", async () => {
  await using server = await startAll();
  const past = new Date(Date.now() - 2000).toISOString();
  const run = await runCli([
    "latency",
    `127.0.0.1:${server.echo}`,
    ...["-n", "20", "--start-at", past, "--json", "-", "--no-progress"],
  ]);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.ok(summary.start.lateMs >= 2000, `late by ${summary.start.lateMs} ms`);
  assert.match(run.stderr, /Warning: Measuring began \d+\.\d ms after --start-at/);
  assert.equal(summary.done, 20);
});
