/**
 * A synthetic mesh record, as `netspeed agent --hlog-dir` writes it: four
 * agents, each with one interval log per peer and probe kind and a counts
 * CSV, over `minutes` at 10 s intervals. Node n3 is behind a slow, lossy
 * link: its pairs' round trips are about 20 ms, with a burst of loss in the
 * middle; the others' about 0.3 ms. Values are drawn from a seeded
 * generator, so every run writes the same files.
 *
 * @module
 */
import { join } from "node:path";
import { createHistogram, recordUs } from "../lib/histogram.ts";
import { hlogHeaderLines, hlogIntervalLine } from "../lib/hlog/mod.ts";
import { AGENT_COUNTS_CSV_HEADER } from "../lib/agent/hlog_sink.ts";

/** What the fixture wrote, to check the report against. */
export interface MeshFixture {
  nodes: string[];
  /** Round trips written per `source/target/probe`. */
  counts: Map<string, number>;
  /** Failures written per `source/target/probe`. */
  failures: Map<string, number>;
}

/** Writes the record of four agents under `dir` (one folder per agent). */
export async function writeMeshFixture(dir: string, minutes = 10): Promise<MeshFixture> {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const nodes = ["n0", "n1", "n2", "n3"];
  const intervalMs = 10_000;
  const startMs = Date.UTC(2026, 10, 27, 12, 0, 0);
  const intervals = minutes * 6;
  const counts = new Map<string, number>();
  const failures = new Map<string, number>();
  for (const source of nodes) {
    const folder = join(dir, source);
    await Deno.mkdir(folder, { recursive: true });
    const csv = [AGENT_COUNTS_CSV_HEADER.join(",")];
    for (const target of nodes) {
      if (target === source) continue;
      const slow = source === "n3" || target === "n3";
      for (const probe of ["tcp", "connect", "udp"]) {
        const lines = hlogHeaderLines({ startEpochMs: startMs, comments: ["synthetic"] });
        const key = `${source}/${target}/${probe}`;
        for (let i = 0; i < intervals; i++) {
          const histogram = createHistogram();
          const burst = slow && i > intervals / 2 && i < intervals / 2 + 6;
          const probes = 10;
          let failed = 0;
          for (let n = 0; n < probes; n++) {
            // One interval of n3 → n0 udp loses everything: no round trip to draw.
            const blackout = key === "n3/n0/udp" && i === 10;
            if (blackout || (slow && random() < (burst ? 0.3 : 0.01))) {
              failed++;
              continue;
            }
            const baseUs = slow ? 20_000 : 300;
            const queueUs = (burst ? 30_000 : slow ? 4_000 : 100) * -Math.log(1 - random());
            recordUs(histogram, baseUs + queueUs);
          }
          counts.set(key, (counts.get(key) ?? 0) + histogram.totalCount);
          failures.set(key, (failures.get(key) ?? 0) + failed);
          const from = startMs + i * intervalMs;
          lines.push(hlogIntervalLine({
            tag: key,
            startEpochMs: from,
            endEpochMs: from + intervalMs,
            histogram,
          }, startMs));
          csv.push(
            [
              from,
              from + intervalMs,
              source,
              target,
              probe,
              probes,
              failed,
              probe === "udp" ? failed : 0,
            ].join(","),
          );
        }
        await Deno.writeTextFile(
          join(folder, `${target}_${probe}_20261127T120000Z.hlog`),
          lines.join("\n") + "\n",
        );
      }
    }
    await Deno.writeTextFile(join(folder, "counts_20261127T120000Z.csv"), csv.join("\n") + "\n");
  }
  return { nodes, counts, failures };
}
