/**
 * Ground truth for many hosts, one result, on one machine: a server
 * namespace and four client namespaces on a Linux bridge, one client's link
 * shaped with `tc … tbf` (less bandwidth, more delay). The clients run the
 * very command lines of the Kubernetes Job manifest (`deploy/kubernetes/
 * clients.yaml`), with the environment the Downward API and the ConfigMap
 * would give each pod, one `--start-at` two seconds ahead; their `kubectl
 * logs` (stdout and stderr) go to `netspeed merge -`. Checked against the
 * union of the pods' CSV rows and their own JSON summaries.
 *
 * Needs root (namespaces, veths, a bridge, tc); skipped, saying so,
 * otherwise. Run alone on a quiet machine (`flock /tmp/netspeed-bench.lock`):
 * starts are timed to 50 ms.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readHlog } from "../lib/hlog/mod.ts";
import { mergeHistograms } from "../lib/histogram.ts";
import { nearestRank, readCsv, ROOT_DIR, RUN_FLAGS, tempDir } from "./helpers.ts";
import {
  containerCommands,
  containerEnv,
  expandEnv,
  loadManifests,
  type Manifest,
} from "./manifests.ts";
import { type Fleet, inNamespace, makeFleet, type TbfLimit, whyNoFleet } from "./netns.ts";

/** The shaped client's link, both ways: 2 Mbit/s through a queue of up to 50 ms. */
const LIMIT: TbfLimit = { rate: "2mbit", burst: "8kb", latency: "50ms" };
const CLIENTS = 4;
const SHAPED = 2;
/** HdrHistogram's 3 significant digits, and the top of a bucket: 0.1% plus a little. */
const HDR_PRECISION = 0.002;

const SKIP_REASON = await whyNoFleet(LIMIT);
if (SKIP_REASON) {
  console.warn(`fleet_netns_test: SKIPPED, cannot build the namespace fleet (${SKIP_REASON})`);
}

/** What one pod of a Job printed (its `kubectl logs`) and where its files are. */
interface Pod {
  index: number;
  name: string;
  nodeId: string;
  dir: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** An RFC 3339 instant `ms` from now, as a user would put in the ConfigMap. */
function instantFromNow(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/**
 * Runs the Job's container command line in each client namespace at once,
 * from the pod's own results folder (the manifest's `workingDir` volume).
 */
async function runJob(
  fleet: Fleet,
  manifests: Manifest[],
  jobName: string,
  values: Record<string, string>,
  root: string,
): Promise<Pod[]> {
  const job = manifests.find((m) => m.kind === "Job" && m.name === jobName)!;
  const configMap = manifests.find((m) => m.kind === "ConfigMap")!;
  const [command] = containerCommands(job);
  return await Promise.all(fleet.clients.map(async (client, index) => {
    const name = `${jobName}-${index}-${(Deno.pid * 31 + index).toString(36).slice(-5)}`;
    const env = containerEnv(command, {
      ...configMap.object.data,
      ...values,
      JOB_COMPLETION_INDEX: String(index),
      POD_NAME: name,
    });
    const argv = command.argv.map((arg) => expandEnv(arg, env));
    assert.equal(argv[0], "netspeed");
    const dir = join(root, name);
    await Deno.mkdir(dir);
    const out = await inNamespace(client.ns, argv.slice(1), "piped", { cwd: dir }).output();
    const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return {
      index,
      name,
      nodeId: argv[argv.indexOf("--node-id") + 1],
      dir,
      code: out.code,
      stdout: text(out.stdout),
      stderr: text(out.stderr),
    };
  }));
}

/** `netspeed merge - -o DIR` with the pods' logs on stdin, as `kubectl logs … | netspeed merge -`. */
async function mergeLogs(pods: Pod[], out: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, "main.ts", "merge", "-", "-o", out],
    cwd: ROOT_DIR,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(pods.map((p) => p.stdout + p.stderr).join("")));
  await writer.close();
  const result = await child.output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, stdout: text(result.stdout), stderr: text(result.stderr) };
}

/** The rows of the merge's per-node table, by node id: the whitespace-separated cells. */
function tableRows(stdout: string, ids: string[]): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const cells = line.trim().split(/\s+/);
    if (ids.includes(cells[0])) rows.set(cells[0], cells);
  }
  return rows;
}

/** A figure as the table prints it ("1,234.5", "12.3 Mbit/s" → the number). */
function figure(cell: string): number {
  return Number(cell.replace(/,/g, ""));
}

Deno.test({
  name: "a fleet of four namespaces runs the Job's command lines; merge agrees with their CSV rows",
  ignore: SKIP_REASON !== null,
  async fn() {
    const made = makeFleet({ clients: CLIENTS, shaped: { clients: [SHAPED], limit: LIMIT } });
    if (typeof made === "string") throw new Error(made);
    await using fleet = made;
    await using dir = await tempDir();
    const manifests = await loadManifests(join(ROOT_DIR, "deploy/kubernetes/clients.yaml"));

    // The server, as the Deployment runs it (its pod's address instead of 0.0.0.0).
    const server = inNamespace(fleet.server.ns, ["serve", "--host", fleet.server.address])
      .spawn();
    try {
      const ready = await server.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
      assert.match(ready.value ?? "", /listening on 10\.77\.0\.1:/);
      // Warm the module cache, so that four processes starting at once are ready in 2 s.
      await inNamespace(fleet.clients[0].ns, ["--version"]).output();

      // Latency: the Job netspeed-latency, one --start-at 2 s ahead for all.
      const latencyAt = instantFromNow(2000);
      const pods = await runJob(fleet, manifests, "netspeed-latency", {
        SERVER: fleet.server.address,
        DURATION: "3s",
        LATENCY_START_AT: latencyAt,
      }, join(dir.path));
      for (const pod of pods) assert.equal(pod.code, 0, `${pod.name}: ${pod.stderr}`);
      const summaries = pods.map((p) => JSON.parse(p.stdout.trim()));
      const ids = pods.map((p) => p.nodeId);
      assert.deepEqual(summaries.map((s) => s.node.id), ids);

      const merged = await mergeLogs(pods, join(dir.path, "merged-latency"));
      assert.equal(merged.code, 0, merged.stderr + merged.stdout);
      console.log(`netspeed merge (latency):\n${merged.stdout}`);
      const json = JSON.parse(
        await Deno.readTextFile(join(dir.path, "merged-latency", "merged.json")),
      );

      // Merged count = sum of node counts.
      const sum = summaries.reduce((a, s) => a + s.done, 0);
      assert.ok(sum > 1000, `${sum} round trips`);
      assert.equal(json.done, sum);
      assert.equal(json.rtt.count, sum);

      // Merged p50 and p99 = those of the union of every pod's CSV rows.
      const union: number[] = [];
      for (const pod of pods) {
        const rows = await readCsv(join(pod.dir, `latency-${pod.name}.csv`));
        const ok = rows.filter((r) => r.error === "");
        assert.equal(ok.length, summaries[pod.index].done, pod.name);
        union.push(...ok.map((r) => Number(r.rtt_us)));

        // Every node's first measured sample within 50 ms of --start-at.
        const s = summaries[pod.index];
        assert.equal(s.start.askedEpochMs, Date.parse(latencyAt));
        const firstMs = s.window.originEpochMs +
          Math.min(...rows.map((r) => Number(r.start_us))) / 1000;
        const after = firstMs - Date.parse(latencyAt);
        assert.ok(after >= -1 && after <= 50, `${pod.name}: first sample ${after} ms after`);

        // Its interval log holds the same round trips, from --start-at on.
        const log = await readHlog(join(pod.dir, `latency-${pod.name}.hlog`));
        const counted = mergeHistograms(log.intervals.map((i) => i.histogram)).totalCount;
        assert.equal(counted, s.done, `${pod.name}.hlog`);
        assert.ok(Math.abs(log.startEpochMs! - Date.parse(latencyAt)) <= 50);
        assert.equal(log.intervals[0].tag, `${pod.nodeId}/latency`);
      }
      union.sort((a, b) => a - b);
      const agreement: string[] = [];
      for (const [p, field] of [[50, "p50Us"], [99, "p99Us"]] as const) {
        const exact = nearestRank(union, p);
        const hdr = json.rtt[field];
        agreement.push(`p${p}: merged ${hdr} µs, union of ${union.length} CSV rows ${exact} µs`);
        assert.ok(Math.abs(hdr - exact) <= HDR_PRECISION * exact + 0.001, agreement.at(-1));
      }
      console.log(`Merged vs the union of CSV rows: ${agreement.join("; ")}`);

      // The shaped node stands out in the per-node table: its p50 above ten times every other's.
      const rows = tableRows(merged.stdout, ids);
      assert.equal(rows.size, CLIENTS, merged.stdout);
      const p50 = (id: string) => figure(rows.get(id)![5]);
      const shapedId = ids[SHAPED];
      for (const id of ids.filter((id) => id !== shapedId)) {
        assert.ok(p50(shapedId) > 10 * p50(id), `p50 ${p50(shapedId)} vs ${id}'s ${p50(id)}`);
      }

      // Throughput: the Job netspeed-throughput, its own start instant.
      const throughputAt = instantFromNow(2000);
      const tpPods = await runJob(fleet, manifests, "netspeed-throughput", {
        SERVER: fleet.server.address,
        DURATION: "3s",
        THROUGHPUT_START_AT: throughputAt,
      }, join(dir.path));
      for (const pod of tpPods) assert.equal(pod.code, 0, `${pod.name}: ${pod.stderr}`);
      const tpSummaries = tpPods.map((p) => JSON.parse(p.stdout.trim()));
      const tpMerged = await mergeLogs(tpPods, join(dir.path, "merged-throughput"));
      assert.equal(tpMerged.code, 0, tpMerged.stderr + tpMerged.stdout);
      console.log(`netspeed merge (throughput):\n${tpMerged.stdout}`);
      const tpJson = JSON.parse(
        await Deno.readTextFile(join(dir.path, "merged-throughput", "merged.json")),
      );
      // The aggregate is the sum over nodes: every byte once, every interval the sum of its nodes.
      const nodeBytes = tpSummaries.reduce((a, s) => a + s.totals.all.bytes, 0);
      const aggregateBytes = tpJson.intervals.reduce(
        (a: number, i: { upBytes: number; downBytes: number }) => a + i.upBytes + i.downBytes,
        0,
      );
      assert.ok(Math.abs(aggregateBytes - nodeBytes) <= 1e-6 * nodeBytes, "a byte lost or doubled");
      for (const interval of tpJson.intervals) {
        const sumOfNodes = Object.values(interval.byNode as Record<string, number>)
          .reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(interval.bitsPerSec - sumOfNodes) <= 1e-6 * interval.bitsPerSec + 1e-6);
      }
      // The shaped node got a fifth of the others' rate at most (2 Mbit/s against Gbit/s).
      const bits = tpSummaries.map((s) => s.totals.all.bitsPerSec as number);
      for (const [n, b] of bits.entries()) {
        if (n !== SHAPED) assert.ok(bits[SHAPED] < b / 5, `${bits[SHAPED]} vs ${b} bit/s`);
      }
      assert.ok(bits[SHAPED] < 10e6, `shaped node ${bits[SHAPED]} bit/s through a 2 Mbit/s link`);
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await server.stderr.cancel().catch(() => {});
    }
  },
});
