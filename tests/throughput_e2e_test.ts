/**
 * `netspeed throughput` end to end: real child processes, real sockets on
 * 127.0.0.1 (netspeed's own services and ones written here with node:net),
 * real CSV and JSON files.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { readCsv, runCli, spawnCli, tempDir, waitForRows } from "./helpers.ts";

/** `netspeed serve` with echo, discard and chargen on free ports. */
async function startServices() {
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

/** Bytes a service counted, from the totals table `serve` prints when it stops. */
function servedBytes(stdout: string, service: string, column: "received" | "sent"): number {
  const line = stdout.split("\n").find((l) => new RegExp(`^${service}\\s+[\\d,]+\\s`).test(l));
  assert.ok(line, `no totals line for ${service} in:\n${stdout}`);
  const cells = line.trim().split(/\s+/);
  return Number(cells[column === "received" ? 4 : 5].replaceAll(",", ""));
}

type Row = Record<string, string>;

/** The rows' measured bytes per direction. */
function measuredBytes(rows: Row[], direction: string): number {
  return rows
    .filter((r) => r.direction === direction && r.omitted === "0")
    .reduce((a, r) => a + Number(r.bytes), 0);
}

Deno.test("throughput up writes one row per stream and interval, and discard received what the client counted", async () => {
  await using dir = await tempDir();
  const server = await startServices();
  const csvPath = join(dir.path, "up.csv");
  const jsonPath = join(dir.path, "up.json");
  let result;
  try {
    result = await runCli([
      "throughput",
      "127.0.0.1",
      ...["--discard-port", String(server.discard), "-P", "2", "-d", "1s", "-i", "250ms"],
      ...["--csv", csvPath, "--json", jsonPath],
    ]);
  } finally {
    // Up to a few MB still sit in socket buffers when the client exits;
    // give discard a moment to read them before it stops and counts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.stop("SIGTERM");
  }
  assert.equal(result.code, 0, result.stderr);
  const rows = await readCsv(csvPath);
  assert.deepEqual(Object.keys(rows[0]), [
    "stream",
    "worker",
    "direction",
    "interval_start_s",
    "interval_end_s",
    "bytes",
    "bits_per_sec",
    "omitted",
  ]);
  assert.equal(rows.length, 2 * 4);
  for (const r of rows) {
    assert.equal(r.direction, "up");
    assert.equal(Number(r.worker), Number(r.stream) % 2);
    assert.ok(Number(r.bytes) > 0, `an interval moved nothing: ${JSON.stringify(r)}`);
    const seconds = Number(r.interval_end_s) - Number(r.interval_start_s);
    assert.ok(Math.abs(seconds - 0.25) < 1e-9);
    assert.ok(Math.abs(Number(r.bits_per_sec) - Number(r.bytes) * 8 / seconds) <= 1);
  }
  // Each stream has the four intervals 0–0.25 … 0.75–1.
  for (const stream of ["0", "1"]) {
    assert.deepEqual(
      rows.filter((r) => r.stream === stream).map((r) => r.interval_start_s),
      ["0.000", "0.250", "0.500", "0.750"],
    );
  }
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.equal(summary.command, "throughput");
  assert.equal(summary.run.deno, Deno.version.deno);
  assert.equal(summary.target, "127.0.0.1");
  assert.equal(summary.options.streams, 2);
  assert.equal(summary.options.workers, 2);
  assert.equal(summary.measuredSeconds, 1);
  assert.equal(summary.totals.up.bytes, measuredBytes(rows, "up"));
  assert.equal(summary.totals.down, null);
  assert.equal(summary.streams.length, 2);
  assert.equal(summary.spread.up.streams, 2);
  assert.equal(summary.csv.rows, 8);

  // Ground truth from the other end: discard received every byte the
  // client counted, plus per stream at most the write that completed after
  // the end and the one cut short by the close.
  const received = servedBytes(server.lines.join("\n"), "discard", "received");
  const counted = summary.totals.up.bytes;
  assert.ok(received >= counted, `discard received ${received} < counted ${counted}`);
  assert.ok(
    received <= counted + 2 * 2 * summary.options.blockBytes,
    `discard received ${received}, client counted ${counted}`,
  );
  assert.match(result.stdout, /^Total up: [\d.]+ [kMG]?bit\/s/m);
});

Deno.test("throughput down and both: omitted intervals are flagged and left out of the totals", async () => {
  await using dir = await tempDir();
  await using server = await startServices();
  const down = join(dir.path, "down");
  const downResult = await runCli([
    "throughput",
    "127.0.0.1",
    ...["--direction", "down", "--chargen-port", String(server.chargen)],
    ...["-P", "3", "-w", "2", "-d", "1s", "-i", "500ms", "-O", "500ms"],
    ...["--csv", `${down}.csv`, "--json", `${down}.json`],
  ]);
  assert.equal(downResult.code, 0, downResult.stderr);
  const downRows = await readCsv(`${down}.csv`);
  assert.equal(downRows.length, 3 * 3);
  assert.deepEqual(
    downRows.filter((r) => r.stream === "2").map((r) => [r.interval_start_s, r.omitted]),
    [["0.000", "1"], ["0.500", "0"], ["1.000", "0"]],
  );
  const downSummary = JSON.parse(await Deno.readTextFile(`${down}.json`));
  assert.equal(downSummary.totals.down.bytes, measuredBytes(downRows, "down"));
  assert.equal(downSummary.measuredSeconds, 1);
  assert.deepEqual(downSummary.intervals.map((i: { omitted: boolean }) => i.omitted), [
    true,
    false,
    false,
  ]);

  const both = join(dir.path, "both");
  const bothResult = await runCli([
    "throughput",
    "127.0.0.1",
    ...["--direction", "both", "--echo-port", String(server.echo)],
    ...["-d", "1s", "-i", "500ms", "--csv", `${both}.csv`, "--json", `${both}.json`],
  ]);
  assert.equal(bothResult.code, 0, bothResult.stderr);
  const bothRows = await readCsv(`${both}.csv`);
  assert.deepEqual(bothRows.map((r) => r.direction), ["up", "down", "up", "down"]);
  const bothSummary = JSON.parse(await Deno.readTextFile(`${both}.json`));
  const up = measuredBytes(bothRows, "up");
  const downBytes = measuredBytes(bothRows, "down");
  assert.equal(bothSummary.totals.up.bytes, up);
  assert.equal(bothSummary.totals.down.bytes, downBytes);
  assert.equal(bothSummary.totals.all.bytes, up + downBytes);
  // Echo returns only what it got: over the run, what came back cannot
  // exceed what was sent by more than what was in flight at the start.
  assert.ok(downBytes > 0 && downBytes <= up + 4 * 1024 * 1024, `up ${up}, down ${downBytes}`);
  assert.match(bothResult.stdout, /^Total both ways: /m);
});

/** Discard and chargen written here with node:net: standard services netspeed did not write. */
async function nodeServices(): Promise<AsyncDisposable & { discard: number; chargen: number }> {
  const sockets = new Set<net.Socket>();
  const line = (n: number) => {
    let text = "";
    for (let i = 0; i < 72; i++) text += String.fromCharCode(32 + (n + i) % 95);
    return text + "\r\n";
  };
  const chunk = Buffer.from(Array.from({ length: 95 }, (_, n) => line(n)).join(""));
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const discard = net.createServer((socket) => {
    track(socket);
    socket.resume();
  });
  const chargen = net.createServer((socket) => {
    track(socket);
    const pump = () => {
      while (socket.writable && socket.write(chunk));
    };
    socket.on("drain", pump);
    pump();
  });
  const listen = (server: net.Server) =>
    new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port))
    );
  const ports = { discard: await listen(discard), chargen: await listen(chargen) };
  return {
    ...ports,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([discard, chargen].map((s) => new Promise((r) => s.close(r))));
    },
  };
}

Deno.test("throughput works against discard and chargen servers netspeed did not write", async () => {
  await using services = await nodeServices();
  for (const direction of ["up", "down"] as const) {
    const result = await runCli([
      "throughput",
      "127.0.0.1",
      ...["--direction", direction, "-d", "500ms", "-i", "250ms"],
      ...["--discard-port", String(services.discard), "--chargen-port", String(services.chargen)],
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Total ${direction}: [\\d.]+ [kMG]?bit/s`, "m"));
    assert.doesNotMatch(result.stdout, /^Total \w+: 0\.00 bit\/s/m);
  }
});

Deno.test("throughput to a closed port exits 1 with one line naming the service", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const result = await runCli(["throughput", "127.0.0.1", "--discard-port", String(port)]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr.trim(),
    `netspeed: Cannot connect to "127.0.0.1:${port}" (discard): connection refused`,
  );
});

for (
  const [args, message] of [
    [["--direction", "sideways"], /Invalid --direction "sideways": expected up, down or both/],
    [["--streams", "0"], /Invalid --streams "0": must be from 1 to 128/],
    [["--interval", "1ms"], /Invalid --interval "1ms": must be at least 10ms/],
    [["--block-size", "0"], /Invalid --block-size "0": must be at least 1 byte/],
    [["--block-size", "1GiB"], /Invalid --block-size "1GiB": must be at most 16MiB/],
    [["--omit", "-1s"], /Invalid --omit "-1s": must be zero or more/],
    [["--duration", "0"], /Invalid --duration "0": must be more than zero/],
  ] as const
) {
  Deno.test(`throughput ${args.join(" ")} exits 2 with one line and starts nothing`, async () => {
    await using dir = await tempDir();
    const csvPath = join(dir.path, "never.csv");
    const result = await runCli(["throughput", "127.0.0.1", ...args, "--csv", csvPath]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0], message);
    assert.match(lines[0], /\(see "netspeed throughput --help"\)$/);
    await assert.rejects(Deno.stat(csvPath), Deno.errors.NotFound);
  });
}

Deno.test("throughput refuses a target with a port: each direction has its own", async () => {
  const result = await runCli(["throughput", "127.0.0.1:7009"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^netspeed: Invalid host "127\.0\.0\.1:7009": give the host alone/);
});

/** Polls a CSV file until it holds at least `rows` data rows (bounded). */
Deno.test("Ctrl-C stops throughput, keeps the rows, prints the summary and exits 130", async () => {
  await using dir = await tempDir();
  await using server = await startServices();
  const csvPath = join(dir.path, "int.csv");
  const jsonPath = join(dir.path, "int.json");
  const client = spawnCli([
    "throughput",
    "127.0.0.1",
    ...["--discard-port", String(server.discard), "-d", "30s", "-i", "200ms"],
    ...["--csv", csvPath, "--json", jsonPath],
  ]);
  await waitForRows(csvPath, 3);
  const result = await client.stop("SIGINT");
  assert.equal(result.code, 130, result.stderr);
  const rows = await readCsv(csvPath);
  assert.ok(rows.length >= 3);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.equal(summary.interrupted, true);
  assert.ok(summary.measuredSeconds > 0.5 && summary.measuredSeconds < 30);
  assert.equal(summary.totals.up.bytes, measuredBytes(rows, "up"));
  // The last row ends where the run stopped, not where it was planned to.
  assert.ok(Math.abs(Number(rows.at(-1)!.interval_end_s) - summary.measuredSeconds) < 0.001);
  assert.match(result.stdout, /^Warning: Interrupted/m);
});

Deno.test("a server killed mid-run fails the streams, keeps their rows and exits 1", async () => {
  await using dir = await tempDir();
  const server = await startServices();
  const csvPath = join(dir.path, "killed.csv");
  const jsonPath = join(dir.path, "killed.json");
  const client = spawnCli([
    "throughput",
    "127.0.0.1",
    ...["--direction", "down", "--chargen-port", String(server.chargen)],
    ...["-P", "2", "-d", "3s", "-i", "200ms", "--csv", csvPath, "--json", jsonPath],
  ]);
  await waitForRows(csvPath, 4);
  await server.stop("SIGKILL");
  const result = await client.wait(20_000);
  assert.equal(result.code, 1, result.stderr);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  assert.equal(summary.streams.filter((s: { failure: unknown }) => s.failure !== null).length, 2);
  assert.ok(summary.warnings.some((w: string) => /^Stream \d failed after [\d.]+ s/.test(w)));
  assert.ok((await readCsv(csvPath)).length >= 4);
});
