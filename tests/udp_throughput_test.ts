/**
 * `netspeed throughput --udp` end to end against `serve --udp`: datagrams
 * at a fixed bitrate, counted per interval as they leave and come back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv, runCli, startServe, tempDir } from "./helpers.ts";

/**
 * `throughput --udp` at 4 Mbit/s in 1000-byte datagrams for 1 s (500 datagrams), intervals of
 * 250 ms, against the UDP echo on `port`; exit 0 is asserted. The summary and the CSV's rows.
 */
async function udpThroughputRun(dir: string, port: number, sockets: number) {
  const csvPath = join(dir, "udp.csv");
  const jsonPath = join(dir, "udp.json");
  const result = await runCli([
    "throughput",
    "--udp",
    "127.0.0.1",
    ...["--echo-port", String(port), "-b", "4M", "-l", "1000", "-P", String(sockets)],
    ...["-d", "1s", "-i", "250ms", "--csv", csvPath, "--json", jsonPath, "--no-progress"],
  ]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  return {
    result,
    summary: JSON.parse(await Deno.readTextFile(jsonPath)),
    rows: await readCsv(csvPath),
  };
}

Deno.test("throughput --udp sends the asked bitrate and accounts for every datagram", async () => {
  await using dir = await tempDir();
  await using server = await startServe(["--udp"]);
  await server.waitFor(/^udp-echo listening/);
  const { result, summary, rows } = await udpThroughputRun(dir.path, server.port, 2);
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

/** A UDP echo that answers each datagram `delayMs` after it came, on 127.0.0.1. */
function delayedUdpEcho(delayMs: number): AsyncDisposable & { port: number } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const loop = (async () => {
    try {
      for await (const [data, from] of socket) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          socket.send(data, from).catch(() => {});
        }, delayMs);
        timers.add(timer);
      }
    } catch { /* closed */ }
  })();
  return {
    port: (socket.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      for (const timer of timers) clearTimeout(timer);
      socket.close();
      await loop;
    },
  };
}

Deno.test("throughput --udp counts echoes that come back after the last interval's end in its CSV row", async () => {
  // Echoed 150 ms late, the last 150 ms of datagrams come back after the run's 1 s: they belong to
  // the last interval, whose row must wait for them (the 50 ms tick would have written it first).
  await using dir = await tempDir();
  await using echo = delayedUdpEcho(150);
  const { summary, rows } = await udpThroughputRun(dir.path, echo.port, 1);
  assert.equal(summary.udp.sent, 500);
  assert.equal(summary.udp.received + summary.udp.lost, 500);
  // Most come back: loopback loses none unless the machine stalls for longer than the time limit.
  assert.ok(summary.udp.received >= 450, `received ${summary.udp.received}`);
  assert.equal(rows.length, 4);
  const echoed = rows.map((r) => Number(r.echoed_datagrams));
  assert.equal(echoed.reduce((a, b) => a + b, 0), summary.udp.received);
  // The last interval holds its own echoes after the first 150 ms and every late one: well over 125.
  assert.ok(echoed[3] > 125, `last interval echoed ${echoed[3]}`);
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
