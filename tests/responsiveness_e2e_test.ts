/**
 * `netspeed responsiveness` end to end against `serve` on 127.0.0.1: both
 * phases probed, the load running between the marks, and the RPM in the
 * JSON recomputed from the CSV rows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { trimmedMean } from "../lib/responsiveness/rpm.ts";
import { readCsv, runCli, spawnCli, tempDir } from "./helpers.ts";

Deno.test("responsiveness probes idle then loaded, and its RPM follows from its rows", async () => {
  await using dir = await tempDir();
  await using server = spawnCli([
    "serve",
    ...["--port", "0", "--discard-port", "0", "--chargen-port", "0"],
  ]);
  const port = async (service: string) =>
    Number(
      (await server.waitFor(new RegExp(`^${service} listening on 127\\.0\\.0\\.1:(\\d+)`)))[1],
    );
  const [echo, discard, chargen] = [
    await port("echo"),
    await port("discard"),
    await port("chargen"),
  ];
  const csvPath = join(dir.path, "rpm.csv");
  const jsonPath = join(dir.path, "rpm.json");
  const result = await runCli([
    "responsiveness",
    "127.0.0.1",
    ...["--echo-port", String(echo), "--discard-port", String(discard)],
    ...["--chargen-port", String(chargen), "--idle", "1s", "--loaded", "2s", "-P", "2"],
    ...["--csv", csvPath, "--json", jsonPath, "--no-progress"],
  ]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  const summary = JSON.parse(await Deno.readTextFile(jsonPath));
  const rows = await readCsv(csvPath);
  assert.equal(summary.csv.rows, rows.length);
  assert.deepEqual(Object.keys(rows[0]), [
    "phase",
    "probe",
    "connection",
    "seq",
    "start_us",
    "rtt_us",
    "error",
  ]);

  // The phases follow the load's marks.
  const { startUs, endUs } = summary.load;
  assert.ok(startUs >= 1_000_000 && endUs - startUs >= 1_990_000, `${startUs}..${endUs}`);
  for (const r of rows) {
    const t = Number(r.start_us);
    if (r.phase === "idle") assert.ok(t < startUs, `idle probe at ${t}`);
    else assert.ok(r.phase === "loaded" && t >= startUs && t < endUs, `loaded probe at ${t}`);
  }
  for (const phase of ["idle", "loaded"]) {
    for (const probe of ["self", "foreign_connect", "foreign_echo"]) {
      const n = rows.filter((r) => r.phase === phase && r.probe === probe && r.error === "").length;
      assert.ok(n > 0, `no ${phase} ${probe} probe`);
      assert.equal(summary[phase].probes[probe].rtt.count, n);
    }
  }

  // The idle RPM, recomputed from the CSV as the draft (adapted) says.
  const tm = (probe: string) =>
    trimmedMean(
      rows.filter((r) => r.phase === "idle" && r.probe === probe && r.error === "")
        .map((r) => Number(r.rtt_us) / 1000),
    );
  const expected = 60_000 /
    ((tm("foreign_connect") + tm("foreign_echo")) / 4 + tm("self") / 2);
  const idleRpm = summary.idle.responsiveness.rpm;
  assert.ok(Math.abs(idleRpm - expected) <= expected * 1e-3, `${idleRpm} vs ${expected}`);
  assert.ok(summary.loaded.responsiveness.rpm > 0);

  // The load ran both ways, counted per 250 ms.
  assert.ok(summary.load.upBitsPerSec > 0 && summary.load.downBitsPerSec > 0);
  assert.equal(summary.load.liveStreams, 4);
  assert.equal(summary.load.intervals.length, 8);
  assert.match(result.stdout, /^Responsiveness: idle [\d,]+ RPM \([\d.]+ ms\), loaded [\d,]+ RPM/m);
});

Deno.test("responsiveness refuses a host with a port, and fails in one line without echo", async () => {
  const withPort = await runCli(["responsiveness", "127.0.0.1:7007"]);
  assert.equal(withPort.code, 2);
  assert.match(withPort.stderr, /Invalid host "127\.0\.0\.1:7007": give the host alone/);
  // A port nothing listens on: bind one, note it, close it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const free = listener.addr.port;
  listener.close();
  const refused = await runCli(["responsiveness", "127.0.0.1", "--echo-port", String(free)]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    new RegExp(
      `^netspeed: Cannot connect to "127\\.0\\.0\\.1:${free}" \\(echo\\): connection refused\\n$`,
    ),
  );
});
