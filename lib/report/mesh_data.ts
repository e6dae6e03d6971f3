/**
 * The mesh report's data, read from agents' `--hlog-dir` directories:
 * per pair (source → target) and probe kind, the percentiles of the whole
 * window (from the exact sum of every interval's histogram) and of each
 * interval, with the probe, failure and loss counts of the counts CSVs
 * beside them. Long recordings are cut into at most
 * {@linkcode MAX_BINS} bins per series by adding neighbouring intervals'
 * histograms (never by averaging percentiles).
 *
 * @module
 */
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { UsageError } from "../errors.ts";
import { createHistogram, type Histogram } from "../histogram.ts";
import { readHlog } from "../hlog/mod.ts";
import { AGENT_COUNTS_CSV_HEADER } from "../agent/hlog_sink.ts";

/** Most bins drawn per pair and probe kind. */
export const MAX_BINS = 600;

/** One pair and probe kind over the whole window. */
export interface MeshPair {
  source: string;
  target: string;
  probe: string;
  /** Round trips in the hlogs. */
  count: number;
  p50Us: number | null;
  p99Us: number | null;
  /** From the counts CSVs: probes finished, failed, UDP datagrams lost. */
  probes: number;
  failures: number;
  lost: number;
  /** failures / probes (for udp: the lost share); null without counts. */
  lossRatio: number | null;
}

/** One bin of one pair and probe kind. */
export interface MeshBin {
  source: string;
  target: string;
  probe: string;
  startMs: number;
  endMs: number;
  count: number;
  p1Us: number | null;
  p10Us: number | null;
  p25Us: number | null;
  p50Us: number | null;
  p75Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  probes: number;
  failures: number;
  lossRatio: number | null;
}

/** Everything the mesh report draws. */
export interface MeshData {
  /** Agents (sources) and every node seen as source or target, sorted. */
  nodes: string[];
  pairs: MeshPair[];
  bins: MeshBin[];
  /** Bin width, ms. */
  binMs: number;
  startMs: number;
  endMs: number;
  files: { hlogs: number; counts: number };
}

/** Finds agents' hlogs and counts CSVs under `dir`, down to three levels. */
async function findFiles(dir: string): Promise<{ hlogs: string[]; counts: string[] }> {
  const hlogs: string[] = [];
  const counts: string[] = [];
  const walk = async (path: string, depth: number) => {
    for await (const entry of Deno.readDir(path)) {
      const full = join(path, entry.name);
      if (entry.isDirectory && depth < 3) await walk(full, depth + 1);
      else if (entry.isFile && entry.name.endsWith(".hlog")) hlogs.push(full);
      else if (entry.isFile && /^counts_.*\.csv$/.test(entry.name)) counts.push(full);
    }
  };
  await walk(dir, 0);
  return { hlogs: hlogs.sort(), counts: counts.sort() };
}

/** Whether `dir` holds an agent's record (a counts CSV somewhere within three levels). */
export async function isAgentHlogDir(dir: string): Promise<boolean> {
  try {
    return (await findFiles(dir)).counts.length > 0;
  } catch {
    return false;
  }
}

const key = (source: string, target: string, probe: string) =>
  `${source}\u0000${target}\u0000${probe}`;

function pct(h: Histogram, p: number): number | null {
  return h.totalCount === 0 ? null : Math.min(h.getValueAtPercentile(p), h.maxValue) / 1000;
}

/** Reads every agent record under `dir` into {@linkcode MeshData}. */
export async function loadMeshDir(dir: string): Promise<MeshData> {
  const files = await findFiles(dir);
  if (files.counts.length === 0) {
    throw new UsageError(`Folder "${dir}" holds no agent record (counts_*.csv and *.hlog)`);
  }
  // Interval histograms per series, keyed by interval start.
  const series = new Map<string, Map<number, { endMs: number; histogram: Histogram }>>();
  const lengths: number[] = [];
  for (const path of files.hlogs) {
    const log = await readHlog(path);
    for (const interval of log.intervals) {
      const parts = (interval.tag ?? "").split("/");
      if (parts.length !== 3) continue;
      const k = key(parts[0], parts[1], parts[2]);
      let byStart = series.get(k);
      if (!byStart) series.set(k, byStart = new Map());
      lengths.push(interval.endEpochMs - interval.startEpochMs);
      const open = byStart.get(interval.startEpochMs);
      if (open) {
        open.histogram.add(interval.histogram);
        open.endMs = Math.max(open.endMs, interval.endEpochMs);
      } else {
        byStart.set(interval.startEpochMs, {
          endMs: interval.endEpochMs,
          histogram: interval.histogram,
        });
      }
    }
  }
  // Counts rows per series and interval start.
  const counts = new Map<string, Map<number, { probes: number; failures: number; lost: number }>>();
  for (const path of files.counts) {
    const rows: Record<string, string>[] = parse(await Deno.readTextFile(path), {
      columns: true,
      skip_empty_lines: true,
      relax_column_count: true,
    });
    for (const row of rows) {
      if (AGENT_COUNTS_CSV_HEADER.some((column) => row[column] === undefined)) continue;
      const k = key(row.source, row.target, row.probe);
      let byStart = counts.get(k);
      if (!byStart) counts.set(k, byStart = new Map());
      const start = Number(row.interval_start_ms);
      const c = byStart.get(start) ?? { probes: 0, failures: 0, lost: 0 };
      c.probes += Number(row.probes);
      c.failures += Number(row.failures);
      c.lost += Number(row.udp_lost);
      byStart.set(start, c);
      lengths.push(Number(row.interval_end_ms) - start);
    }
  }
  const intervalMs = Math.max(1, mode(lengths));
  let startMs = Infinity;
  let endMs = -Infinity;
  for (const byStart of [...series.values(), ...counts.values()]) {
    for (const start of byStart.keys()) {
      startMs = Math.min(startMs, start);
      endMs = Math.max(endMs, start + intervalMs);
    }
  }
  const spanMs = Math.max(intervalMs, endMs - startMs);
  const binMs = Math.ceil(spanMs / intervalMs / MAX_BINS) * intervalMs;
  const origin = Math.floor(startMs / binMs) * binMs;
  const binOf = (ms: number) => origin + Math.floor((ms - origin) / binMs) * binMs;

  const pairs: MeshPair[] = [];
  const bins: MeshBin[] = [];
  const allKeys = new Set([...series.keys(), ...counts.keys()]);
  for (const k of [...allKeys].sort()) {
    const [source, target, probe] = k.split("\u0000");
    const total = createHistogram();
    const binned = new Map<number, { histogram: Histogram; probes: number; failures: number }>();
    const bin = (ms: number) => {
      const b = binOf(ms);
      let entry = binned.get(b);
      if (!entry) binned.set(b, entry = { histogram: createHistogram(), probes: 0, failures: 0 });
      return entry;
    };
    for (const [start, interval] of series.get(k) ?? []) {
      total.add(interval.histogram);
      bin(start).histogram.add(interval.histogram);
    }
    let probes = 0;
    let failures = 0;
    let lost = 0;
    for (const [start, c] of counts.get(k) ?? []) {
      probes += c.probes;
      failures += c.failures;
      lost += c.lost;
      const entry = bin(start);
      entry.probes += c.probes;
      entry.failures += c.failures;
    }
    pairs.push({
      source,
      target,
      probe,
      count: total.totalCount,
      p50Us: pct(total, 50),
      p99Us: pct(total, 99),
      probes,
      failures,
      lost,
      lossRatio: probes > 0 ? failures / probes : null,
    });
    for (const [b, entry] of [...binned].sort(([a], [c]) => a - c)) {
      const h = entry.histogram;
      bins.push({
        source,
        target,
        probe,
        startMs: b,
        endMs: b + binMs,
        count: h.totalCount,
        p1Us: pct(h, 1),
        p10Us: pct(h, 10),
        p25Us: pct(h, 25),
        p50Us: pct(h, 50),
        p75Us: pct(h, 75),
        p90Us: pct(h, 90),
        p99Us: pct(h, 99),
        probes: entry.probes,
        failures: entry.failures,
        lossRatio: entry.probes > 0 ? entry.failures / entry.probes : null,
      });
    }
  }
  const nodes = [...new Set(pairs.flatMap((p) => [p.source, p.target]))].sort();
  return {
    nodes,
    pairs,
    bins,
    binMs,
    startMs: Number.isFinite(startMs) ? startMs : 0,
    endMs: Number.isFinite(endMs) ? endMs : 0,
    files: { hlogs: files.hlogs.length, counts: files.counts.length },
  };
}

/** The most frequent value (the interval length; clipped first and last intervals are rarer). */
function mode(values: number[]): number {
  const seen = new Map<number, number>();
  for (const v of values) seen.set(Math.round(v), (seen.get(Math.round(v)) ?? 0) + 1);
  let best = 0;
  let most = 0;
  for (const [v, n] of seen) if (n > most || (n === most && v > best)) [best, most] = [v, n];
  return best;
}

/** Several folders' data side by side (agents whose hlogs were collected separately). */
export function mergeMeshData(parts: readonly MeshData[]): MeshData {
  return {
    nodes: [...new Set(parts.flatMap((p) => p.nodes))].sort(),
    pairs: parts.flatMap((p) => p.pairs),
    bins: parts.flatMap((p) => p.bins),
    binMs: Math.max(...parts.map((p) => p.binMs)),
    startMs: Math.min(...parts.map((p) => p.startMs)),
    endMs: Math.max(...parts.map((p) => p.endMs)),
    files: {
      hlogs: parts.reduce((a, p) => a + p.files.hlogs, 0),
      counts: parts.reduce((a, p) => a + p.files.counts, 0),
    },
  };
}
