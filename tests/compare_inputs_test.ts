/**
 * What `netspeed compare` reads: folders holding every kind, JSON summaries
 * alone, comma-separated repeated runs; differing runs named. Synthetic
 * files in netspeed's formats (tests/report_fixtures.ts), no network.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCsv, runCli, tempDir } from "./helpers.ts";
import { createHistogram, encodeHistogram, recordUs } from "../lib/histogram.ts";
import {
  syntheticConnectCsv,
  syntheticLatencyCsv,
  syntheticResponsiveness,
  syntheticThroughputCsv,
} from "./report_fixtures.ts";

async function side(dir: string, name: string, slower: number, extraKinds = true) {
  const folder = join(dir, name);
  await Deno.mkdir(folder);
  await Deno.writeTextFile(
    join(folder, "latency.csv"),
    syntheticLatencyCsv({ workers: 2, connections: 2, perConnection: 3000, baseUs: 50 * slower }),
  );
  await Deno.writeTextFile(
    join(folder, "latency.json"),
    JSON.stringify({
      command: "latency",
      target: "127.0.0.1:7007",
      options: { size: slower === 1 ? 1024 : 64, workers: 2 },
      run: { tool: "netspeed", version: "0.1.0", deno: "2.9.6", startEpochMs: 1.7e12 },
      clientCpu: { shareOfCores: slower === 1 ? 0.2 : 0.95, cores: 2 },
      csv: { path: join(folder, "latency.csv"), rows: 12_000 },
    }),
  );
  if (!extraKinds) return folder;
  await Deno.writeTextFile(
    join(folder, "throughput.csv"),
    syntheticThroughputCsv(2, 12, 5e8 / slower),
  );
  await Deno.writeTextFile(join(folder, "connect.csv"), syntheticConnectCsv(2, 300, 70 * slower));
  const rrul = syntheticResponsiveness({
    idleS: 2,
    loadedS: 3,
    idleUs: 100 * slower,
    loadedUs: 9000 * slower,
  });
  await Deno.writeTextFile(join(folder, "responsiveness.csv"), rrul.csv);
  // As a run writes it: the run-result loader wants the tool and the start.
  const run = rrul.json.run as Record<string, unknown>;
  Object.assign(run, { tool: "netspeed", startEpochMs: 1.7e12 });
  rrul.json.csv = { path: join(folder, "responsiveness.csv"), rows: 0 };
  await Deno.writeTextFile(join(folder, "responsiveness.json"), JSON.stringify(rrul.json));
  return folder;
}

Deno.test("netspeed compare reads folders of every kind and names what differs", async () => {
  await using dir = await tempDir();
  const before = await side(dir.path, "before", 1);
  const after = await side(dir.path, "after", 1.3);
  const out = join(dir.path, "cmp.json");
  const result = await runCli(["compare", before, after, "--json", out]);
  assert.equal(result.code, 0, result.stderr);
  const c = JSON.parse(await Deno.readTextFile(out));
  assert.deepEqual(c.kinds, ["latency", "connect", "responsiveness", "throughput"]);
  const groups = new Set(
    c.rows.map((r: { kind: string; group: string }) => `${r.kind} ${r.group}`),
  );
  for (
    const g of ["latency rtt", "connect connect", "responsiveness loaded self", "throughput up"]
  ) {
    assert.ok(groups.has(g), `${g} in ${[...groups].join(", ")}`);
  }
  // One run per side: never better or worse.
  assert.ok(c.rows.every((r: { verdict: string }) => !["better", "worse"].includes(r.verdict)));
  const up = c.rows.find((r: { group: string }) => r.group === "up");
  assert.equal(up.metric, "mean");
  assert.ok(Math.abs(up.changePercent + 100 * (1 - 1 / 1.3)) < 1, JSON.stringify(up));
  assert.match(
    result.stdout,
    /The latency runs differ in option size: 1024 in latency \(base\); 64 in .*latency \(new\)/,
  );
  assert.match(result.stdout, /the client used 95% of 2 cores: it may have run out of CPU/);
  assert.match(result.stdout, /No JSON summary for .*connect \(base\)/);
  assert.match(result.stdout, /^throughput up: 1 run \(base\) vs 1 run \(new\)/m);

  // A responsiveness JSON alone: figures from its probe histograms, as the CSV's.
  const withHistograms = async (folder: string) => {
    const json = JSON.parse(await Deno.readTextFile(join(folder, "responsiveness.json")));
    const rows = await readCsv(join(folder, "responsiveness.csv"));
    for (const phase of ["idle", "loaded"]) {
      json[phase] ??= {};
      json[phase].probes ??= {};
      for (const probe of ["self", "foreign_connect", "foreign_echo"]) {
        const h = createHistogram();
        for (const r of rows) {
          if (r.phase === phase && r.probe === probe && r.error === "") {
            recordUs(h, Number(r.rtt_us));
          }
        }
        json[phase].probes[probe] = { ...json[phase].probes[probe], histogram: encodeHistogram(h) };
      }
    }
    // Without the CSV's path, compare has the histograms alone.
    delete json.csv;
    const path = join(dir.path, `${folder.split("/").pop()}-responsiveness.json`);
    await Deno.writeTextFile(path, JSON.stringify(json));
    return path;
  };
  const csvOut = join(dir.path, "via-csv.json");
  const jsonOut = join(dir.path, "via-json.json");
  const viaCsv = await runCli([
    "compare",
    join(before, "responsiveness.csv"),
    join(after, "responsiveness.csv"),
    "--json",
    csvOut,
  ]);
  assert.equal(viaCsv.code, 0, viaCsv.stderr);
  const viaJson = await runCli([
    "compare",
    await withHistograms(before),
    await withHistograms(after),
    "--json",
    jsonOut,
  ]);
  assert.equal(viaJson.code, 0, viaJson.stderr);
  assert.match(viaJson.stdout, /^responsiveness loaded self: 1 run/m);
  type Row = { group: string; metric: string; base: number; new: number };
  const csvRows: Row[] = JSON.parse(await Deno.readTextFile(csvOut)).rows;
  const jsonRows: Row[] = JSON.parse(await Deno.readTextFile(jsonOut)).rows;
  assert.equal(jsonRows.length, csvRows.length);
  assert.equal(csvRows.length, 24);
  csvRows.forEach((a, i) => {
    const b = jsonRows[i];
    assert.equal(`${b.group} ${b.metric}`, `${a.group} ${a.metric}`);
    assert.ok(Math.abs(b.base / a.base - 1) < 0.002, `${a.group} ${a.metric} base`);
    assert.ok(Math.abs(b.new / a.new - 1) < 0.002, `${a.group} ${a.metric} new`);
  });
  // A summary whose CSV is found is read from the CSV (time order); one with neither CSV nor
  // histograms cannot be compared, and says so.
  const viaBeside = await runCli([
    "compare",
    join(before, "responsiveness.json"),
    join(after, "responsiveness.json"),
  ]);
  assert.equal(viaBeside.code, 0, viaBeside.stderr);
  const bareJson = JSON.parse(await Deno.readTextFile(join(before, "responsiveness.json")));
  delete bareJson.csv;
  const bare = join(dir.path, "bare.json");
  await Deno.writeTextFile(bare, JSON.stringify(bareJson));
  const refused = await runCli(["compare", bare, join(after, "responsiveness.json")]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /bare\.json": it has no histogram and no CSV was found/);
});

Deno.test("netspeed compare takes repeated runs separated by commas and names kinds on one side", async () => {
  await using dir = await tempDir();
  const a = [await side(dir.path, "a1", 1, false), await side(dir.path, "a2", 1, false)];
  const b = [await side(dir.path, "b1", 1, true), await side(dir.path, "b2", 1, false)];
  const result = await runCli(["compare", a.join(","), b.join(",")]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^latency rtt: 2 runs \(base\) vs 2 runs \(new\)/m);
  assert.match(result.stdout, /Only NEW has throughput runs: they are not compared/);
  // The synthetic runs share a seed: identical samples, no difference at all.
  assert.match(result.stdout, /^p50 .*±0 µs .*no difference/m);
});
