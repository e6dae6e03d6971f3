/**
 * `netspeed report` and `netspeed latency --report` end to end: the real
 * CLI in a child process, real files, a real server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, startServe, tempDir } from "./helpers.ts";
import {
  syntheticConnectCsv,
  syntheticLatencyCsv,
  syntheticResponsiveness,
  syntheticThroughputCsv,
} from "./report_fixtures.ts";

/** Size every report must stay under. */
const MAX_REPORT_BYTES = 5_000_000;

Deno.test("netspeed report compares two runs and a folder of other kinds on one page", async () => {
  await using dir = await tempDir();
  const before = join(dir.path, "before.csv");
  const after = join(dir.path, "after.csv");
  await Deno.writeTextFile(
    before,
    syntheticLatencyCsv({ workers: 2, connections: 2, perConnection: 2000, baseUs: 60 }),
  );
  await Deno.writeTextFile(
    after,
    syntheticLatencyCsv({ workers: 2, connections: 2, perConnection: 2000, baseUs: 66, seed: 3 }),
  );
  await Deno.writeTextFile(
    join(dir.path, "before.json"),
    JSON.stringify({
      command: "latency",
      target: "10.1.2.3:7007",
      run: { runId: "before-run-id" },
    }),
  );
  const other = join(dir.path, "other");
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(other, "throughput.csv"), syntheticThroughputCsv(2, 6, 5e8));
  await Deno.writeTextFile(join(other, "connect.csv"), syntheticConnectCsv(2, 200, 70));
  const rrul = syntheticResponsiveness({ idleS: 2, loadedS: 3, idleUs: 100, loadedUs: 9000 });
  await Deno.writeTextFile(join(other, "responsiveness.csv"), rrul.csv);
  await Deno.writeTextFile(join(other, "responsiveness.json"), JSON.stringify(rrul.json));
  const rrulRows = rrul.csv.trim().split("\n").length - 1;
  const out = join(dir.path, "compare.html");

  const result = await runCli(["report", before, after, other, "-o", out]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.match(
    result.stdout,
    new RegExp(
      `^Report: .*compare\\.html \\(\\d+\\.\\d\\d MB, 5 runs, ${
        (16_424 + rrulRows).toLocaleString("en-US")
      } rows read`,
      "m",
    ),
  );
  const html = await Deno.readTextFile(out);
  assert.ok(html.length < MAX_REPORT_BYTES);
  assert.match(html, /after compared with before/);
  // A 10% slower median over 8000 round trips each is beyond the noise within the runs, but one
  // run per side cannot tell a change from run-to-run variation: every percentile gets its
  // interval, and none is called worse.
  assert.match(html, /after compared with before: p50 \+[\d.]+ µs \(\+\d+\.\d%, interval \+/);
  assert.match(html, /need more runs/);
  assert.match(html, /p99\.9 [^;]*interval/);
  assert.doesNotMatch(html, /real difference|beyond noise|: worse/);
  assert.match(html, /before-run-id/);
  assert.match(html, /10\.1\.2\.3:7007/);
  assert.match(html, /id="throughput-totals"/);
  assert.match(html, /id="connect-spectrum"/);
  assert.match(html, /id="responsiveness-time-0"/);
  // The run without a JSON says where its figures come from.
  assert.match(html, /after\.json is absent\): figures come from the CSV alone/);

  // Without -o, the report goes beside the first CSV.
  const again = await runCli(["report", before]);
  assert.equal(again.code, 0, again.stderr);
  assert.ok((await Deno.stat(join(dir.path, "before.html"))).isFile);
});

Deno.test("netspeed report exits 2 and names the file and line when the input is unusable", async () => {
  await using dir = await tempDir();
  const path = (name: string) => join(dir.path, name);
  await Deno.writeTextFile(path("wrong.csv"), "host,ping_ms\nexample,12\n");
  await Deno.writeTextFile(path("empty.csv"), "");
  await Deno.writeTextFile(
    path("header.csv"),
    "worker,connection,seq,start_us,rtt_us,bytes,error\n",
  );
  const cases: [string[], RegExp][] = [
    [[path("missing.csv")], /Cannot read CSV file ".*missing\.csv": no such file/],
    [
      [path("wrong.csv")],
      /Cannot use CSV file ".*wrong\.csv" line 1: the header "host,ping_ms" is not one of netspeed's CSV files/,
    ],
    [[path("empty.csv")], /Cannot read CSV file ".*empty\.csv": it is empty/],
    [[path("header.csv")], /Cannot use CSV file ".*header\.csv": it has a header but no data rows/],
    [[path("header.csv"), "-o", path("x.csv")], /Invalid --output ".*x\.csv": the report is HTML/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli([
      "report",
      ...args,
      ...(args.includes("-o") ? [] : ["-o", path("out.html")]),
    ]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  }
  await assert.rejects(() => Deno.stat(path("out.html")), Deno.errors.NotFound);
});

Deno.test("netspeed report skips malformed rows, warns with the line, and counts them in the report", async () => {
  await using dir = await tempDir();
  const csv = join(dir.path, "run.csv");
  const good = syntheticLatencyCsv({ workers: 1, connections: 2, perConnection: 200, baseUs: 40 })
    .trimEnd().split("\n");
  good.splice(10, 0, "0,1,5,notanumber,40.0,64,");
  good.splice(20, 0, "0,1,6,1000.0");
  await Deno.writeTextFile(csv, good.join("\n") + "\n");
  const result = await runCli(["report", csv, "-o", join(dir.path, "run.html")]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /Warning: ".*run\.csv": skipped 2 malformed rows of 402 \(line 11: start_us "notanumber" is not a time since the start\)/,
  );
  const html = await Deno.readTextFile(join(dir.path, "run.html"));
  assert.match(
    html,
    /run: 2 malformed rows of 402 skipped \(line 11: .*; line 21: 4 fields where the header has 7\)/,
  );
});

Deno.test("netspeed latency --report writes the CSV beside the report, with the run's metadata in it", async () => {
  await using dir = await tempDir();
  await using server = await startServe();
  const report = join(dir.path, "run.html");
  const result = await runCli([
    "latency",
    `127.0.0.1:${server.port}`,
    ...["-w", "2", "-c", "2", "-n", "300", "--no-progress", "--report", report],
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Report: .*run\.html/m);
  const csvText = await Deno.readTextFile(join(dir.path, "run.csv"));
  assert.equal(csvText.trimEnd().split("\n").length, 1 + 2 * 2 * 300);
  const html = await Deno.readTextFile(report);
  assert.match(html, new RegExp(`Target</th><td>127\\.0\\.0\\.1:${server.port}<`));
  assert.match(html, /Run id<\/th><td>[0-9a-f-]{36}</);
  assert.match(html, /JSON summary<\/th><td>from the run itself</);
  assert.match(html, /1,200 round trips in/);
});
