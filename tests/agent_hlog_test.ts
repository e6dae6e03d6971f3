/**
 * The agent's hlogs: every round trip it counted is in them after SIGTERM,
 * they read back with lib/hlog's reader, and a small --hlog-max-bytes
 * rotates files and keeps the directory within budget.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli, tempDir } from "./helpers.ts";
import { freePorts } from "./prometheus.ts";
import { readHlog } from "../lib/hlog/mod.ts";

async function listFiles(dir: string): Promise<{ name: string; bytes: number }[]> {
  const files = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) {
      files.push({ name: entry.name, bytes: (await Deno.stat(`${dir}/${entry.name}`)).size });
    }
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function runPair(hlogArgs: string[], seconds: number, dir: string) {
  const [portA, portB] = freePorts(2);
  const peerFile = `${dir}/peers.txt`;
  await Deno.writeTextFile(peerFile, `a 127.0.0.1:${portA}\nb 127.0.0.1:${portB}\n`);
  const common = ["--peers", peerFile, "--metrics-listen", "127.0.0.1:0", "--interval", "50ms"];
  await using b = spawnCli(["agent", "--node-id", "b", "--port", String(portB), ...common]);
  const a = spawnCli([
    ...["agent", "--node-id", "a", "--port", String(portA), ...common],
    ...["--hlog-dir", `${dir}/hlogs`, ...hlogArgs],
  ]);
  await a.waitFor(/^peers: \+1 \(b\)/);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const result = await a.stop("SIGTERM");
  await b.stop();
  return result;
}

Deno.test("agent --hlog-dir holds every round trip it counted once stopped by SIGTERM", async () => {
  await using dir = await tempDir();
  const result = await runPair(["--hlog-interval", "500ms"], 3, dir.path);
  assert.equal(result.code, 0, result.stderr);
  const files = await listFiles(`${dir.path}/hlogs/a`);
  const counted = new Map<string, number>();
  for (const line of result.stdout.split("\n")) {
    const m = /^b\s+(tcp|connect|udp)\s+(\d+)\s+(\d+)\s/.exec(line);
    if (m) counted.set(m[1], Number(m[2]) - Number(m[3]));
  }
  assert.equal(counted.size, 3, result.stdout);
  for (const probe of ["tcp", "connect", "udp"]) {
    const logs = files.filter((f) => f.name.startsWith(`b_${probe}_`) && f.name.endsWith(".hlog"));
    assert.equal(logs.length, 1);
    const log = await readHlog(`${dir.path}/hlogs/a/${logs[0].name}`);
    assert.ok(log.intervals.length >= 4, `${log.intervals.length} intervals`);
    assert.ok(log.intervals.every((i) => i.tag === `a/b/${probe}`));
    const total = log.intervals.reduce((sum, i) => sum + i.histogram.totalCount, 0);
    assert.equal(
      total,
      counted.get(probe),
      `${probe}: hlog ${total} vs agent ${counted.get(probe)}`,
    );
    assert.ok(total > 20);
  }
  // netspeed merge reads them: each pair and probe as one node of a latency (or connect) run.
  const tcpAndUdp = files.filter((f) => /^b_(tcp|udp)_.*\.hlog$/.test(f.name))
    .map((f) => `${dir.path}/hlogs/a/${f.name}`);
  const merged = await runCli(["merge", ...tcpAndUdp, "-o", `${dir.path}/merged`]);
  assert.equal(merged.code, 0, merged.stderr);
  for (const probe of ["tcp", "udp"]) {
    const row = new RegExp(`^a>b:${probe}\\s+-\\s+-\\s+(\\d+)\\s`, "m").exec(merged.stdout);
    assert.ok(row, merged.stdout);
    assert.equal(Number(row[1]), counted.get(probe), merged.stdout);
  }
  const counts = files.find((f) => f.name.startsWith("counts_"));
  assert.ok(counts);
  const rows = (await Deno.readTextFile(`${dir.path}/hlogs/a/${counts.name}`)).trim().split("\n");
  const probesInCsv = rows.slice(1).reduce((sum, row) => sum + Number(row.split(",")[5]), 0);
  const probesCounted = [...result.stdout.matchAll(/^b\s+\S+\s+(\d+)/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
  assert.equal(probesInCsv, probesCounted);
});

Deno.test("agent --hlog-max-bytes rotates the logs and keeps the directory within budget", async () => {
  await using dir = await tempDir();
  const maxBytes = 16 * 1024;
  const startedMs = Date.now();
  const result = await runPair(
    ["--hlog-interval", "200ms", "--hlog-max-bytes", "16KiB"],
    9,
    dir.path,
  );
  assert.equal(result.code, 0, result.stderr);
  const files = await listFiles(`${dir.path}/hlogs/a`);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  // Files are checked once a second: the budget may be passed by a second of writing.
  assert.ok(total <= maxBytes * 1.1, `${total} bytes in ${files.length} files`);
  const starts = [];
  for (const file of files.filter((f) => f.name.endsWith(".hlog"))) {
    const log = await readHlog(`${dir.path}/hlogs/a/${file.name}`);
    assert.ok(log.intervals.length > 0, file.name);
    starts.push(log.startEpochMs!);
  }
  // A log that started seconds after the agent is a rotated one.
  assert.ok(
    Math.max(...starts) - startedMs > 3000,
    `no rotation: ${files.map((f) => f.name).join(" ")}`,
  );
});
