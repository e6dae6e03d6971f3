/**
 * `netspeed throughput --udp` end to end against `serve --udp`: datagrams
 * at a fixed bitrate, counted per interval as they leave and come back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv, runCli, startServe, tempDir } from "./helpers.ts";

Deno.test("throughput --udp sends the asked bitrate and accounts for every datagram", async () => {
  await using dir = await tempDir();
  await using server = await startServe(["--udp"]);
  await server.waitFor(/^udp-echo listening/);
  const csvPath = join(dir.path, "udp.csv");
  const jsonPath = join(dir.path, "udp.json");
  const result = await runCli([
    "throughput",
    "--udp",
    "127.0.0.1",
    ...["--echo-port", String(server.port), "-b", "4M", "-l", "1000", "-P", "2"],
    ...["-d", "1s", "-i", "250ms", "--csv", csvPath, "--json", jsonPath, "--no-progress"],
  ]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  // 4 Mbit/s in 1000-byte datagrams: 500 a second, 500 in one second.
  assert.equal(summary.udp.sent, 500);
  assert.equal(summary.transport, "udp");
  assert.equal(summary.options.lengthBytes, 1000);
  assert.equal(summary.options.sockets, 2);
  assert.equal(summary.udp.sockets.length, 2);
  assert.ok(summary.bitrate.ratio >= 0.95, `sent ${summary.bitrate.ratio} of the bitrate`);
  assert.ok(Math.abs(summary.bitrate.sentBitsPerSec - 4e6) < 0.05 * 4e6);
  assert.equal(summary.udp.received + summary.udp.lost, 500);
  assert.equal(summary.rtt.count, summary.udp.received);

  const rows = await readCsv(csvPath);
  assert.equal(rows.length, 4);
  const sum = (key: string) => rows.reduce((total, r) => total + Number(r[key]), 0);
  assert.equal(sum("sent_datagrams"), 500);
  assert.equal(sum("sent_bytes"), 500_000);
  assert.equal(sum("echoed_datagrams"), summary.udp.received);
  assert.deepEqual(rows.map((r) => r.interval_end_s), ["0.250", "0.500", "0.750", "1.000"]);
  // 125 due per interval; a send that leaves late lands in the next one, and
  // on a busy machine (tests run in parallel) a worker can stall for a while:
  // a wide sanity bound only, the exact total is checked above.
  for (const r of rows) assert.ok(Math.abs(Number(r.sent_datagrams) - 125) <= 60, r.sent_datagrams);
  assert.match(result.stdout, /Bitrate: asked 4\.00 Mbit\/s, sent/);
  assert.match(result.stdout, /Datagrams: sent 500, echoed \d+, lost \d+/);
});

Deno.test("throughput refuses --bitrate without --udp and TCP-only options with it", async () => {
  const bitrate = await runCli(["throughput", "127.0.0.1", "-b", "10M"]);
  assert.equal(bitrate.code, 2);
  assert.match(bitrate.stderr, /Option --bitrate "10M" needs --udp/);
  const direction = await runCli(["throughput", "--udp", "127.0.0.1", "--direction", "down"]);
  assert.equal(direction.code, 2);
  assert.match(direction.stderr, /Option --direction does not apply to --udp/);
  const rate = await runCli(["throughput", "--udp", "127.0.0.1", "-b", "fast"]);
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /Invalid --bitrate "fast": expected a bitrate such as 100M/);
});
