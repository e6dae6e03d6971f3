/**
 * `netspeed merge` on real runs: several `latency` and `throughput`
 * processes against one `serve` on loopback, started together with
 * `--start-at` and told apart by `--node-id`, then merged. Ground truth:
 * the union of the nodes' CSV rows, and each node's own JSON.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { nearestRank, readCsv, runCli, spawnCli, startServe, tempDir } from "./helpers.ts";
import { loadResults } from "../lib/results/load_result.ts";
import { readHlog } from "../lib/hlog/reader.ts";
import { findHdrJava, javaLogTotals, sameHdrValueUs } from "./hdr_java.ts";

/** Relative gap HDR percentiles may have from the exact value (3 significant digits). */
const HDR_PRECISION = 0.002;

/** An RFC 3339 instant `ms` from now: far enough for every process to start and connect. */
function startAt(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

Deno.test("merge of latency runs: counts add up, percentiles are the union's, --start-at is kept", async () => {
  await using server = await startServe();
  await using dir = await tempDir();
  const at = startAt(4000);
  const nodes = ["node-a", "node-b", "node-c"];
  const runs = await Promise.all(nodes.map((id, n) =>
    runCli([
      "latency",
      `127.0.0.1:${server.port}`,
      ...["-n", String(200 + 100 * n), "-c", "2", "--warmup", "5"],
      ...["--start-at", at, "--node-id", id],
      ...["--csv", join(dir.path, `${id}.csv`), "--json", join(dir.path, `${id}.json`)],
      ...["--hlog", join(dir.path, `${id}.hlog`)],
      "--no-progress",
    ])
  ));
  for (const run of runs) assert.equal(run.code, 0, run.stderr);

  const out = join(dir.path, "merged");
  const merged = await runCli(["merge", dir.path, "-o", out]);
  assert.equal(merged.code, 0, merged.stderr);
  for (const id of nodes) assert.match(merged.stdout, new RegExp(`^${id} `, "m"));
  assert.match(merged.stdout, /^all /m);

  const json = JSON.parse(await Deno.readTextFile(join(out, "merged.json")));
  const perNode = await Promise.all(
    nodes.map(async (id) => JSON.parse(await Deno.readTextFile(join(dir.path, `${id}.json`)))),
  );
  const sum = perNode.reduce((a, s) => a + s.done, 0);
  assert.equal(sum, 2 * (200 + 300 + 400));
  assert.equal(json.done, sum);
  assert.equal(json.counts.ok, sum);
  assert.equal(json.rtt.count, sum);

  // The union of every node's rows, from the merged CSV and from the nodes' own.
  const rows = await readCsv(join(out, "merged.csv"));
  assert.equal(rows.length, sum);
  assert.deepEqual([...new Set(rows.map((r) => r.node))].sort(), nodes);
  const union = rows.filter((r) => r.error === "").map((r) => Number(r.rtt_us)).sort((a, b) =>
    a - b
  );
  for (const [p, field] of [[50, "p50Us"], [99, "p99Us"]] as const) {
    const exact = nearestRank(union, p);
    const hdr = json.rtt[field];
    assert.ok(
      Math.abs(hdr - exact) <= HDR_PRECISION * exact + 0.001,
      `merged p${p} ${hdr} µs vs ${exact} µs from the union of CSV rows`,
    );
  }

  // Every node began measuring at --start-at (not before, at most 50 ms after).
  const askedMs = Date.parse(at);
  for (const [n, id] of nodes.entries()) {
    const s = perNode[n];
    assert.equal(s.node.id, id);
    assert.equal(s.start.askedEpochMs, askedMs);
    const own = await readCsv(join(dir.path, `${id}.csv`));
    const firstMs = s.window.originEpochMs + Math.min(...own.map((r) => Number(r.start_us))) / 1000;
    assert.ok(
      firstMs - askedMs >= -1 && firstMs - askedMs <= 50,
      `${id}: first sample ${(firstMs - askedMs).toFixed(2)} ms after --start-at`,
    );
    // Rows stay on the wall clock in the merged CSV: same instant, new time zero.
    const mergedFirst = json.merge.originEpochMs +
      Math.min(...rows.filter((r) => r.node === id).map((r) => Number(r.start_us))) / 1000;
    assert.ok(Math.abs(mergedFirst - firstMs) < 0.01, `${id}: ${mergedFirst} vs ${firstMs}`);
  }

  // The merged interval log: untagged, the sum over nodes; tagged, each node.
  const log = await readHlog(join(out, "merged.hlog"));
  const count = (tag: (t: string | null) => boolean) =>
    log.intervals.filter((i) => tag(i.tag)).reduce((a, i) => a + i.histogram.totalCount, 0);
  assert.equal(count((t) => t === null), sum);
  for (const [n, id] of nodes.entries()) {
    assert.equal(count((t) => t === `${id}/latency`), perNode[n].done);
  }

  // HdrHistogram's own Java reader sees the fleet's total in the untagged lines.
  const java = findHdrJava();
  if ("jar" in java) {
    const totals = await javaLogTotals(java.jar, join(out, "merged.hlog"), null);
    assert.equal(totals.count, sum, totals.row);
    assert.ok(sameHdrValueUs(totals.p99, json.rtt.p99Us), `${totals.p99} vs ${json.rtt.p99Us}`);
  } else {
    console.warn(`Java check skipped: ${java.skip}`);
  }

  // The report of the merged folder: the aggregate and one series per node.
  const report = await runCli(["report", out]);
  assert.equal(report.code, 0, report.stderr);
  const html = await Deno.readTextFile(join(out, "report.html"));
  for (const id of ["merged (all nodes)", ...nodes]) assert.ok(html.includes(id), id);

  // The merged result is itself a result the loader reads.
  const [again] = await loadResults([join(out, "merged.json")]);
  assert.equal(again.result.counts.ok, sum);
});

/** `netspeed serve` with discard on a free port. */
async function startDiscard() {
  const server = spawnCli(["serve", "--port", "0", "--discard-port", "0", "--no-chargen"]);
  const match = await server.waitFor(/^discard listening on 127\.0\.0\.1:(\d+)/);
  return Object.assign(server, { discard: Number(match[1]) });
}

Deno.test("merge of throughput runs: the aggregate per interval is the sum over nodes", async () => {
  await using server = await startDiscard();
  await using dir = await tempDir();
  const at = startAt(4000);
  const nodes = ["up-1", "up-2"];
  const runs = await Promise.all(nodes.map((id) =>
    runCli([
      "throughput",
      "127.0.0.1",
      ...["--discard-port", String(server.discard), "-d", "1s", "-i", "250ms"],
      ...["--start-at", at, "--node-id", id, "--json", "-"],
      ...["--csv", join(dir.path, `${id}.csv`)],
      "--no-progress",
    ])
  ));
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  // --json -: stdout is the summary alone, on one line; the human summary went to stderr.
  for (const run of runs) {
    assert.equal(run.stdout.trim().split("\n").length, 1);
    assert.match(run.stderr, /netspeed throughput/);
  }

  // The stream `kubectl logs` would print: summaries between log lines.
  const stream = runs.map((r, n) => `log line of ${nodes[n]}\n${r.stdout}`).join("");
  const streamPath = join(dir.path, "pods.log");
  await Deno.writeTextFile(streamPath, stream);
  const out = join(dir.path, "merged");
  const merged = await runCli(["merge", streamPath, "-o", out]);
  assert.equal(merged.code, 0, merged.stderr);
  const json = JSON.parse(await Deno.readTextFile(join(out, "merged.json")));
  const perNode = runs.map((r) => JSON.parse(r.stdout));

  const nodeBytes = perNode.reduce((a, s) => a + s.totals.all.bytes, 0);
  const aggregateBytes = json.intervals.reduce(
    (a: number, i: { upBytes: number; downBytes: number }) => a + i.upBytes + i.downBytes,
    0,
  );
  assert.ok(nodeBytes > 0);
  assert.ok(Math.abs(aggregateBytes - nodeBytes) <= 1e-6 * nodeBytes, "no byte lost or doubled");
  // Started together, their intervals line up: each aggregate interval is
  // the sum of the nodes' intervals at the same wall-clock time.
  for (const interval of json.intervals) {
    const sumOfNodes = Object.values(interval.byNode as Record<string, number>)
      .reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(interval.bitsPerSec - sumOfNodes) <= 1e-6 * interval.bitsPerSec + 1e-6);
  }
  // The first merged interval holds what each node sent in that stretch of wall-clock time.
  // Told one --start-at, the nodes start within a few ms of each other, but under the full
  // parallel suite one started about 90 ms late (by the bytes the check then missed); so the
  // share of each node interval that falls in it is counted, not assumed whole.
  type NodeInterval = { omitted: boolean; startSeconds: number; endSeconds: number };
  const wall = perNode.map((s) =>
    (s.intervals as (NodeInterval & { up: { bytes: number } })[])
      .filter((i) => !i.omitted)
      .map((i) => ({
        startMs: s.window.originEpochMs + i.startSeconds * 1000,
        endMs: s.window.originEpochMs + i.endSeconds * 1000,
        upBytes: i.up.bytes,
      }))
  );
  const starts = wall.map((w) => w[0].startMs);
  assert.ok(Math.max(...starts) - Math.min(...starts) < 250, `node starts ${starts.join(", ")}`);
  const first = json.intervals[0];
  const binStartMs = json.window.originEpochMs + first.startSeconds * 1000;
  const binEndMs = json.window.originEpochMs + first.endSeconds * 1000;
  assert.ok(
    Math.abs(binStartMs - Math.min(...starts)) < 1e-3,
    "the grid starts with the first node",
  );
  assert.ok(
    Math.abs(binEndMs - binStartMs - 250) < 5,
    `a first interval of ${binEndMs - binStartMs} ms`,
  );
  const expected = wall.flat().reduce((sum, i) => {
    const overlapMs = Math.min(binEndMs, i.endMs) - Math.max(binStartMs, i.startMs);
    return sum + (overlapMs > 0 ? i.upBytes * overlapMs / (i.endMs - i.startMs) : 0);
  }, 0);
  assert.ok(
    Math.abs(first.upBytes - expected) <= 1e-6 * expected,
    `first interval: ${first.upBytes} bytes merged vs ${expected} from the nodes`,
  );
  const rows = await readCsv(join(out, "merged.csv"));
  assert.deepEqual([...new Set(rows.map((r) => r.node))].sort(), nodes);
});

Deno.test("merge warns about a node whose clock is off, by the server's clock", async () => {
  await using server = await startServe(["--time-port", "0"]);
  const time = Number((await server.waitFor(/^time listening on 127\.0\.0\.1:(\d+)/))[1]);
  await using dir = await tempDir();
  const at = startAt(4000);
  // Namespaces and processes of one machine share its clock: the test hook
  // shifts one node's clock by 300 ms, as a host without NTP would be.
  const offsets: Record<string, number> = { steady: 0, also: 0, skewed: 300 };
  const runs = await Promise.all(
    Object.entries(offsets).map(([id, offsetMs]) =>
      runCli(
        [
          "latency",
          `127.0.0.1:${server.port}`,
          ...["-n", "100", "--start-at", at, "--node-id", id, "--time-port", String(time)],
          ...["--json", join(dir.path, `${id}.json`), "--no-progress"],
        ],
        60_000,
        { NETSPEED_CLOCK_OFFSET_MS: String(offsetMs) },
      )
    ),
  );
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const offsetOf = async (id: string) =>
    JSON.parse(await Deno.readTextFile(join(dir.path, `${id}.json`))).clock.offsetMs;
  const skewed = await offsetOf("skewed");
  assert.ok(Math.abs(skewed - 300) < 20, `measured offset ${skewed} ms of the 300 injected`);
  assert.ok(Math.abs(await offsetOf("steady")) < 20);

  const merged = await runCli(["merge", dir.path, "-o", join(dir.path, "merged")]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /Warning: Node skewed's clock is \d+\.\d ms ahead of the others'/);
  assert.doesNotMatch(merged.stdout, /Node (steady|also)'s clock/);
  // The skewed node trusted its clock: it began 300 ms early and did not know.
  assert.doesNotMatch(merged.stdout, /Node skewed began measuring/);
});

Deno.test({
  name:
    "merge sums the round trips the kernel timed when every node asked, and says the option differs when one did not",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using server = await startServe();
    await using dir = await tempDir();
    const run = (id: string, count: number, stamped: boolean, folder: string) =>
      runCli([
        "latency",
        `127.0.0.1:${server.port}`,
        ...["-n", String(count), "--node-id", id, "--no-progress"],
        ...(stamped ? ["--engine", "ffi", "--kernel-timestamps"] : []),
        ...["--json", join(folder, `${id}.json`)],
      ]);
    const stampedDir = join(dir.path, "stamped");
    await Deno.mkdir(stampedDir);
    for (const [id, count] of [["a", 120], ["b", 180]] as const) {
      const result = await run(id, count, true, stampedDir);
      assert.equal(result.code, 0, result.stderr);
    }
    const nodes = await Promise.all(
      ["a", "b"].map(async (id) =>
        JSON.parse(await Deno.readTextFile(join(stampedDir, `${id}.json`)))
      ),
    );
    const sum = nodes[0].kernelTimed + nodes[1].kernelTimed;
    assert.equal(sum, 300, "every round trip against serve is kernel-timed");
    const merged = await runCli(["merge", stampedDir, "-o", join(dir.path, "m1")]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(dir.path, "m1", "merged.json"))).kernelTimed,
      sum,
    );
    assert.match(
      merged.stdout,
      /^Reply times: when each echo reached this host .* for 300 of 300 round trips/m,
    );

    // A node read-timed beside them: no sum that would pass for all of them.
    const plain = await run("c", 100, false, stampedDir);
    assert.equal(plain.code, 0, plain.stderr);
    const mixed = await runCli(["merge", stampedDir, "-o", join(dir.path, "m2")]);
    assert.equal(mixed.code, 0, mixed.stderr);
    const mixedJson = JSON.parse(await Deno.readTextFile(join(dir.path, "m2", "merged.json")));
    assert.equal(mixedJson.kernelTimed, undefined);
    assert.doesNotMatch(mixed.stdout, /Reply times/);
    assert.match(mixed.stdout, /Option kernelTimestamps differs between nodes/);
  },
});

Deno.test("merge refuses bad input with one line naming the file, and writes nothing", async () => {
  await using dir = await tempDir();
  const run = (kind: string, node: string) => ({
    command: kind,
    run: { tool: "netspeed", startEpochMs: 1000, runId: node },
    done: 1,
    failed: 0,
    errors: {},
    measuredSeconds: 1,
    options: {},
    warnings: [],
    csv: null,
  });
  const latency = join(dir.path, "lat.json");
  const throughput = join(dir.path, "tp.json");
  const foreign = join(dir.path, "foreign.json");
  const cut = join(dir.path, "cut.log");
  const truncated = join(dir.path, "node.hlog");
  await Deno.writeTextFile(
    truncated,
    [
      "#[Histogram log format version 1.3]",
      "#[StartTime: 1795790903.144 (seconds since epoch), 2026-11-27T14:48:23.144Z]",
      '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"',
      "Tag=a/latency,0.000,1.000,61.850,HISTFAAAACl4nJNpmSzMwMDAxAABzFCaEUzOmNZg",
    ].join("\n"),
  );
  await Deno.writeTextFile(latency, JSON.stringify(run("latency", "a")));
  await Deno.writeTextFile(throughput, JSON.stringify(run("throughput", "b")));
  await Deno.writeTextFile(foreign, JSON.stringify({ start: { timestamp: 1 }, intervals: [] }));
  await Deno.writeTextFile(cut, `hello\n${JSON.stringify(run("latency", "c")).slice(0, 60)}\n`);
  const out = join(dir.path, "out");
  const cases: [string[], number, RegExp][] = [
    [
      [latency, throughput],
      2,
      /Cannot merge ".*tp\.json" \(throughput\) with ".*lat\.json" \(latency\)/,
    ],
    [
      [latency, foreign],
      1,
      /Cannot use result ".*foreign\.json": it is not a netspeed JSON summary/,
    ],
    [[cut], 1, /Cannot use result ".*cut\.log:2": the JSON summary on this line is cut short/],
    [[join(dir.path, "none.json")], 2, /Cannot read result ".*none\.json": no such file/],
    [[truncated], 1, /Histogram log ".*node\.hlog", line 4: /],
  ];
  for (const [inputs, code, message] of cases) {
    const r = await runCli(["merge", ...inputs, "-o", out]);
    assert.equal(r.code, code, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], message);
    await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound, "nothing written");
  }
});

Deno.test("--start-at refuses an unparseable time and one more than a day ahead", async () => {
  for (const value of ["soon", "2026-13-01T00:00:00Z", "+25h", startAt(2 * 86_400_000)]) {
    const r = await runCli(["latency", "127.0.0.1:9", "--start-at", value]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`Invalid --start-at "${value.replace("+", "\\+")}"`));
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});
